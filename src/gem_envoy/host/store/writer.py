"""The database threads: one connection per thread, one queue in front of the writer.

Every write becomes a job on one asyncio queue, consumed by one task that runs the jobs
one after another on the single writer thread, each in its own transaction. Writers never
contend for SQLite's lock, and no sqlite3 object ever leaves the thread that made it.
Reads run on a second thread with a read-only connection; thanks to WAL they see the last
committed state while a write is in progress.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .models import StoreError

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]


class DbThread:
    """One sqlite3 connection, created, used and closed on one dedicated thread."""

    def __init__(self, name: str, connect: Callable[[], sqlite3.Connection]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connect = connect
        self._conn: sqlite3.Connection | None = None  # touched only on the thread

    async def start(self) -> None:
        try:
            await self._run(self._open)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    async def transaction(self, begin: str, job: Job[T]) -> T:
        """Run `job` on the thread inside BEGIN .. COMMIT; any error rolls it all back."""
        return await self._run(lambda: self._transact(begin, job))

    async def close(self) -> None:
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=True)

    async def _run(self, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call)

    def _open(self) -> None:
        self._conn = self._connect()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _transact(self, begin: str, job: Job[T]) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError("the store is closed")
        try:
            conn.execute(begin)
            try:
                result = job(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"database error: {exc}") from exc
        return result


@dataclass(slots=True)
class _Request(Generic[T]):
    job: Job[T]
    future: asyncio.Future[T]


class Writer:
    """The single queue through which every write goes, in the order it was submitted."""

    def __init__(self, thread: DbThread) -> None:
        self._thread = thread
        self._queue: asyncio.Queue[_Request[Any] | None] = asyncio.Queue()
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._consume())

    async def submit(self, job: Job[T]) -> T:
        """Queue `job` and wait for it to be committed (or for its error).

        Cancelling the caller withdraws a job that has not started; one already running
        still commits, as a transaction cannot be stopped half-way.
        """
        if self._closed:
            raise StoreError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(job, future))
        return await future

    async def close(self) -> None:
        """Finish every queued write, then stop."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)
        await self._task

    async def _consume(self) -> None:
        try:
            while (request := await self._queue.get()) is not None:
                if not request.future.cancelled():
                    await self._execute(request)
        finally:
            self._fail_pending()

    async def _execute(self, request: _Request[Any]) -> None:
        try:
            result = await self._thread.transaction("BEGIN IMMEDIATE", request.job)
        except BaseException as exc:
            if not request.future.done():
                failure = exc if isinstance(exc, Exception) else StoreError("write interrupted")
                request.future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
        else:
            if not request.future.done():
                request.future.set_result(result)

    def _fail_pending(self) -> None:
        # Only reached early if the consumer task itself was cancelled (loop shutdown):
        # nobody may be left waiting forever.
        self._closed = True
        while not self._queue.empty():
            request = self._queue.get_nowait()
            if request is not None and not request.future.done():
                request.future.set_exception(StoreError("the store was closed before writing"))

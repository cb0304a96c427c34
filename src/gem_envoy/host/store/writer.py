"""The one queue in front of the writer thread.

Every write becomes a job on one asyncio queue, consumed by one task that runs the jobs
one after another on the single writer thread (a `DbThread`), each in its own transaction.
Writers never contend for SQLite's lock. Reads do not come here: they run on the reader
thread (see `dbthread`), which thanks to WAL sees the last committed state meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic

from .dbthread import DbThread, Job, T
from .models import StoreError


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
        return await self.enqueue(job)

    def enqueue(self, job: Job[T]) -> asyncio.Future[T]:
        """Queue `job` now, in the order of this call, and hand back the future of its
        commit; for callers that cannot wait here but need their place in the queue."""
        if self._closed:
            raise StoreError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(job, future))
        return future

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

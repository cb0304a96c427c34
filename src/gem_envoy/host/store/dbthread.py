"""A database thread: one sqlite3 connection, created, used and closed on one thread.

The store has two: the writer's (fed by the one queue in `writer`) and the reader's, whose
connection is read-only. No sqlite3 object ever leaves the thread that made it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .models import StoreError

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]


@dataclass(slots=True)
class Outcome:
    """How one job of a run of transactions ended: its result, or what it raised. A job
    never reached (a run stopped by an interruption, or withdrawn) has neither."""

    ran: bool = False
    value: Any = None
    error: BaseException | None = None


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

    async def transactions(
        self, begin: str, jobs: Sequence[tuple[Job[Any], Callable[[], bool]]]
    ) -> list[Outcome]:
        """Run each (job, wanted) in a transaction of its own, in order, in one trip to the
        thread: a busy event loop then costs one wake-up per run rather than per job. A job
        no longer `wanted` when its turn comes is skipped; one job's error is its own. An
        interruption (not an Exception) ends the run: the jobs after it are not reached."""
        return await self._run(lambda: self._transact_each(begin, jobs))

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

    def _transact_each(
        self, begin: str, jobs: Sequence[tuple[Job[Any], Callable[[], bool]]]
    ) -> list[Outcome]:
        outcomes = [Outcome() for _ in jobs]
        for (job, wanted), outcome in zip(jobs, outcomes, strict=True):
            if not wanted():
                continue
            outcome.ran = True
            try:
                outcome.value = self._transact(begin, job)
            except Exception as exc:
                outcome.error = exc
            except BaseException as exc:
                outcome.error = exc
                break
        return outcomes

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

"""The one queue in front of the writer thread.

Every write becomes a job on one asyncio queue, consumed by one task that runs the jobs
one after another on the single writer thread (a `DbThread`), each in its own transaction.
Writers never contend for SQLite's lock. Reads do not come here: they run on the reader
thread (see `dbthread`), which thanks to WAL sees the last committed state meanwhile.

The jobs waiting when the consumer looks go to the thread together (up to `MAX_RUN`), still
each in its own transaction: every trip to the thread and back costs a turn of the event
loop, and on a loop busy with a thousand gateways those turns, not SQLite, bounded how many
writes a second the store could take.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic

from .dbthread import DbThread, Job, Outcome, T
from .models import StoreError

# Jobs sent to the thread in one trip at most: a caller waits for the whole run.
MAX_RUN = 200


@dataclass(slots=True)
class _Request(Generic[T]):
    job: Job[T]
    future: asyncio.Future[T]

    def wanted(self) -> bool:
        return not self.future.cancelled()


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
            while (first := await self._queue.get()) is not None:
                run, closing = self._waiting(first)
                await self._execute([r for r in run if r.wanted()])
                if closing:
                    break
        finally:
            self._fail_pending()

    def _waiting(self, first: _Request[Any]) -> tuple[list[_Request[Any]], bool]:
        """`first` and the requests queued behind it, up to MAX_RUN; and whether the close
        marker was met (nothing is queued after it)."""
        run = [first]
        while len(run) < MAX_RUN and not self._queue.empty():
            request = self._queue.get_nowait()
            if request is None:
                return run, True
            run.append(request)
        return run, False

    async def _execute(self, run: list[_Request[Any]]) -> None:
        if not run:
            return
        jobs = [(request.job, request.wanted) for request in run]
        try:
            outcomes = await self._thread.transactions("BEGIN IMMEDIATE", jobs)
        except BaseException as exc:  # the consumer itself was cancelled (loop shutdown)
            for request in run:
                _settle(request, Outcome(ran=True, error=exc))
            raise
        interrupted: BaseException | None = None
        for request, outcome in zip(run, outcomes, strict=True):
            _settle(request, outcome)
            if outcome.error is not None and not isinstance(outcome.error, Exception):
                interrupted = outcome.error
        if interrupted is not None:
            raise interrupted

    def _fail_pending(self) -> None:
        # Only reached early if the consumer task itself was cancelled (loop shutdown):
        # nobody may be left waiting forever.
        self._closed = True
        while not self._queue.empty():
            request = self._queue.get_nowait()
            if request is not None and not request.future.done():
                request.future.set_exception(StoreError("the store was closed before writing"))


def _settle(request: _Request[Any], outcome: Outcome) -> None:
    """Hand a job's outcome to its caller; one never reached after an interruption fails."""
    future = request.future
    if future.done():
        return
    if not outcome.ran:
        future.set_exception(StoreError("the store was closed before writing"))
    elif outcome.error is None:
        future.set_result(outcome.value)
    elif isinstance(outcome.error, Exception):
        future.set_exception(outcome.error)
    else:
        future.set_exception(StoreError("write interrupted"))

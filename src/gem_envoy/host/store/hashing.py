"""Password hashing on threads of its own, never on the database threads.

scrypt takes a tenth of a second on purpose. Run on the reader thread, as it once was, every
read queued behind it: thirty parallel sign-ins made `/api/health` take seconds. Here it has
a small pool of its own, and a bound on how many hashes may be running or waiting, so that a
flood of sign-ins is refused early (`HashingBusy`) instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ..users import hash_password, verify_password
from .models import StoreError

T = TypeVar("T")

# Leave a core to the event loop and the database threads: hashing is what an attacker can
# make the host do, reads are what its owner needs.
WORKERS = max(1, min(2, (os.cpu_count() or 1) - 1))
# Hashes running or waiting at once; beyond this a sign-in is refused as busy.
MAX_PENDING = 32


class HashingBusy(StoreError):
    """Too many password checks are already running or waiting."""


class Hasher:
    def __init__(self, workers: int = WORKERS, max_pending: int = MAX_PENDING) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gem-hash")
        # A thread semaphore, released by the worker's future however it ends (done, failed
        # or cancelled before it started), so a caller that gives up frees its slot only when
        # the work it queued is really gone.
        self._slots = threading.BoundedSemaphore(max_pending)

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password: str, stored: str) -> bool:
        return await self._run(verify_password, password, stored)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if not self._slots.acquire(blocking=False):
            raise HashingBusy("too many sign-ins at once; try again in a moment")
        try:
            future: Future[T] = self._executor.submit(work, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(future)

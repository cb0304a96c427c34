"""Slowing password guessing at `POST /api/token` without locking the owner out.

Failures are counted per (username, client address). After the first failure, which may be
a typo, each one makes that pair wait twice as long as the last before it may try again:
1 s, 2 s, 4 s ... up to 15 minutes. A wrong password from one address therefore never delays
the same name from another address, nor other names from the same one: whoever guesses at
`admin` slows only their own guessing, and the owner signs in from their own machine.
Attempts under one key take turns (`turn`), so parallel guesses cannot all slip in before
the first failure is counted.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

FREE_FAILURES = 1  # a typo costs nothing
DELAY_STEP_S = 1.0  # the first wait; each further failure doubles it
MAX_DELAY_S = 15 * 60.0
# A key that has not failed for this long starts afresh.
FORGET_AFTER_S = 24 * 3600.0
# Bound on remembered keys, so a flood of invented usernames cannot grow memory forever.
MAX_KEYS = 10_000

Key = tuple[str, str]  # (casefolded username, client address)


def login_key(username: str, address: str) -> Key:
    return (username.casefold(), address)


@dataclass(slots=True)
class _Failures:
    count: int
    last: float  # clock time of the last failure
    allowed_at: float  # clock time from which the next attempt is heard


@dataclass(slots=True)
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class LoginLimiter:
    def __init__(
        self,
        *,
        delay_step_s: float = DELAY_STEP_S,
        max_delay_s: float = MAX_DELAY_S,
        free_failures: int = FREE_FAILURES,
        forget_after_s: float = FORGET_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.delay_step_s = delay_step_s
        self.max_delay_s = max_delay_s
        self.free_failures = free_failures
        self.forget_after_s = forget_after_s
        self._clock = clock
        self._failures: dict[Key, _Failures] = {}
        self._turns: dict[Key, _Turn] = {}

    @asynccontextmanager
    async def turn(self, key: Key) -> AsyncIterator[None]:
        """One attempt at a time under `key`; the others wait here for theirs."""
        turn = self._turns.setdefault(key, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]

    def retry_after(self, key: Key) -> int | None:
        """Whole seconds until an attempt under `key` is heard; None if it is now."""
        found = self._current(key)
        if found is None:
            return None
        wait = found.allowed_at - self._clock()
        return math.ceil(wait) if wait > 0 else None

    def failed(self, key: Key) -> None:
        now = self._clock()
        found = self._current(key)
        count = 1 if found is None else found.count + 1
        self._failures.pop(key, None)  # re-inserted last: the dict stays oldest first
        self._failures[key] = _Failures(count, now, now + self.delay(count))
        while len(self._failures) > MAX_KEYS:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: Key) -> None:
        self._failures.pop(key, None)

    def delay(self, failures: int) -> float:
        """The wait after this many failures in a row."""
        doublings = failures - self.free_failures - 1
        if doublings < 0:
            return 0.0
        if doublings >= 64:  # 2**64 seconds outlasts any cap
            return self.max_delay_s
        return float(min(self.max_delay_s, self.delay_step_s * 2**doublings))

    def _current(self, key: Key) -> _Failures | None:
        found = self._failures.get(key)
        if found is not None and self._clock() - found.last > self.forget_after_s:
            del self._failures[key]
            return None
        return found

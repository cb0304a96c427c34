"""Slowing down and then refusing password guessing at `POST /api/token`.

Failures are counted per key within a sliding window; the login route uses two keys per
attempt, the username and the client address, so that neither many names from one address
nor one name from many addresses gets unlimited guesses.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable

MAX_FAILURES = 5
WINDOW_S = 15 * 60.0
DELAY_STEP_S = 0.2
MAX_DELAY_S = 2.0
# Bound on remembered keys, so a flood of invented usernames cannot grow memory forever.
MAX_KEYS = 10_000


class LoginLimiter:
    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        delay_step_s: float = DELAY_STEP_S,
        max_delay_s: float = MAX_DELAY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.delay_step_s = delay_step_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Whole seconds until an attempt under these keys is allowed; None if it is now."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            recent = self._recent(key, now)
            if len(recent) >= self.max_failures:
                # Allowed again once enough of the oldest failures have left the window.
                oldest_that_matters = recent[len(recent) - self.max_failures]
                wait = max(wait, oldest_that_matters + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def record(self, keys: Iterable[str]) -> float:
        """Count an attempt as failed before its password is checked, so that a burst of
        parallel guesses cannot all slip past `retry_after`; returns its timestamp, which
        `succeeded` takes back."""
        now = self._clock()
        for key in keys:
            recent = self._recent(key, now)
            recent.append(now)
            self._failures[key] = recent
        self._bound(now)
        return now

    def succeeded(self, keys: Iterable[str], stamp: float, *, forget: str) -> None:
        """Take back the attempt made at `stamp`, and clear the count of `forget` (the
        username; not the address: one good account must not reset the guessing budget
        of a whole address)."""
        self.cancel(keys, stamp)
        self._failures.pop(forget, None)

    def cancel(self, keys: Iterable[str], stamp: float) -> None:
        """Take back the attempt made at `stamp` (its password could not be checked)."""
        for key in keys:
            recent = self._failures.get(key)
            if recent is not None and stamp in recent:
                recent.remove(stamp)

    def delay(self, keys: Iterable[str]) -> float:
        """How long to hold back the answer to a failed attempt: longer the more failures."""
        now = self._clock()
        worst = max((len(self._recent(key, now)) for key in keys), default=0)
        return min(self.max_delay_s, self.delay_step_s * worst)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.get(key, deque())
        while recent and recent[0] <= now - self.window_s:
            recent.popleft()
        if not recent:
            self._failures.pop(key, None)
        return recent

    def _bound(self, now: float) -> None:
        if len(self._failures) <= MAX_KEYS:
            return
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) > MAX_KEYS:
            del self._failures[next(iter(self._failures))]  # oldest first: dicts keep order

"""How long to wait before reconnecting to something that went away (a broker)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Exponential delays with jitter: first, 2 x first, 4 x first ... up to `cap_s`.

    Jitter keeps many clients of one broker (or one host's restarts) from reconnecting in
    step. `reset()` once a connection has proved itself, so a broker that accepts and drops
    at once is not hammered, and one that was merely restarted is rejoined quickly."""

    def __init__(
        self,
        first_s: float = 1.0,
        cap_s: float = 60.0,
        *,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if first_s <= 0 or cap_s < first_s:
            raise ValueError("a backoff needs 0 < first_s <= cap_s")
        self.first_s = first_s
        self.cap_s = cap_s
        self._jitter = jitter
        self._rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt, counting this failure."""
        delay = min(self.cap_s, self.first_s * 2.0**self.failures)
        self.failures += 1
        return delay * (1.0 - self._jitter * self._rng())

    def reset(self) -> None:
        self.failures = 0

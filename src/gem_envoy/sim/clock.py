"""Simulated time: a start instant and a speed (simulated seconds per real second)."""

from __future__ import annotations

import time
from collections.abc import Callable


class SimClock:
    """``now()`` = start + elapsed real time x speed; speed 0 freezes time at the start."""

    def __init__(
        self,
        start: float | None = None,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must not be negative")
        self._monotonic = monotonic
        self._origin = monotonic()
        self.start = time.time() if start is None else start
        self.speed = speed

    def now(self) -> float:
        return self.start + (self._monotonic() - self._origin) * self.speed

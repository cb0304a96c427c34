"""A timer that measures how late its event loop wakes it: the loop's responsiveness."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class LoopProbe:
    """How late the event loop runs a timer: its responsiveness, whatever the devices do."""

    every_s: float = 0.05
    samples: list[tuple[float, float]] = field(default_factory=list)

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.every_s)
            now = time.monotonic()
            self.samples.append((now, (now - before - self.every_s) * 1000))

    def late_ms(self, since: float, until: float) -> list[float]:
        return [late for t, late in self.samples if since <= t < until]

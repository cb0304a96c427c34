"""History for values sampled faster than a device is polled: one mean per window.

A live feed reports power every second or two; charting every sample would multiply the
history by the sampling rate. Each attribute's samples are instead averaged over windows
of the polling interval, aligned to the clock (window n covers [n*w, (n+1)*w)), and a window
gives its one point once a sample of a later window arrives. A mean rather than the last
sample: a kettle that ran for 20 s of a 30 s window shows as two thirds of its power, as an
energy meter would have counted it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HistoryPoint = tuple[str, float, float]
"""(attribute name, timestamp, value)."""


@dataclass(slots=True)
class _Window:
    index: int
    total: float = 0.0
    count: int = 0
    last_ts: float = 0.0

    def point(self, name: str) -> HistoryPoint:
        # Stamped with its last sample: the window's point is never later than what it saw.
        return (name, self.last_ts, self.total / self.count)


class LiveHistory:
    """The open window of each attribute of one device or zone."""

    def __init__(self) -> None:
        self._open: dict[str, _Window] = {}

    def add(self, values: Mapping[str, float], now: float, window_s: float) -> list[HistoryPoint]:
        """Take one sample of each of `values` at `now`; the points of the windows that
        this sample closes (at most one per attribute)."""
        closed: list[HistoryPoint] = []
        index = math.floor(now / window_s) if window_s > 0 else 0
        for name, value in values.items():
            window = self._open.get(name)
            if window is not None and window.index != index:
                closed.append(window.point(name))
                window = None
            if window is None:
                window = self._open[name] = _Window(index)
            window.total += value
            window.count += 1
            window.last_ts = now
        return closed

    def close(self, names: Iterable[str]) -> list[HistoryPoint]:
        """The points of the open windows of `names`, which end now: the polled value
        takes over these attributes, and what the live feed saw is not lost."""
        return [window.point(name) for name in names if (window := self._open.pop(name, None))]

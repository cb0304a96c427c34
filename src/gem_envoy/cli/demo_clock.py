"""The demo's sunny day: at night here, the simulated gateway keeps the time of a place where
it is late morning, so that a newcomer sees the sun at work whatever the hour.

Only the plant's time zone moves (its `utc_offset_s`): every timestamp it sends stays true,
so inverter reports are "just now", tokens and sessions age normally, and a point charted at
host time T is the plant at T. The day runs at real pace: started at 23:00 here, the plant
reaches its sunset (18:00 there) seven hours later. Whole hours only, so that both clocks
show the same minutes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

HOUR_S = 3600
DAYLIGHT = (9, 16)
"""Local hours in which the demo's plant keeps this machine's time: its sun is well up."""
SUNNY_HOUR = 11
"""Where a shifted plant's day starts: late morning, the sun rising for a few more hours."""


@dataclass(frozen=True)
class DemoDay:
    local_offset_s: int
    """This machine's UTC offset at the demo's start."""
    shift_h: int
    """How many hours the plant's clock runs ahead of this machine's (negative: behind)."""

    @property
    def utc_offset_s(self) -> int:
        """The plant's time zone, as `SimOptions.utc_offset_s` takes it."""
        return self.local_offset_s + self.shift_h * HOUR_S

    def plant_time(self, t: float) -> dt.datetime:
        """The plant's wall-clock time at ``t`` (naive: in its own time zone)."""
        return dt.datetime.fromtimestamp(t + self.utc_offset_s, dt.UTC).replace(tzinfo=None)


def demo_day(now: float) -> DemoDay:
    """The plant's day for a demo started at ``now``, in this machine's time zone ($TZ)."""
    return demo_day_at(dt.datetime.fromtimestamp(now).astimezone())


def demo_day_at(local: dt.datetime) -> DemoDay:
    """The plant's day for a demo started at ``local`` (aware: this machine's time)."""
    offset = local.utcoffset()
    local_offset_s = int(offset.total_seconds()) if offset is not None else 0
    if DAYLIGHT[0] <= local.hour < DAYLIGHT[1]:
        return DemoDay(local_offset_s, 0)
    # The smallest shift that lands on SUNNY_HOUR: 23:00 -> 12 h behind, 03:00 -> 8 h ahead.
    shift = (SUNNY_HOUR - local.hour) % 24
    return DemoDay(local_offset_s, shift - 24 if shift >= 12 else shift)


def demo_notice(day: DemoDay, now: float, history_days: float) -> str:
    """What the page and the console say about the demo's simulated time and past."""
    past = f"; its history of the last {_days(history_days)} was simulated at start"
    past = past if history_days > 0 else ""
    if day.shift_h == 0:
        return f"Demo: the gateway is simulated{past}."
    hours = abs(day.shift_h)
    way = "behind" if day.shift_h < 0 else "ahead of"
    there = day.plant_time(now).strftime("%H:%M")
    return (
        f"Demo: the simulated gateway's clock runs {hours} hours {way} this computer's "
        f"({there} there at start), so that there is sun to see at any hour{past}."
    )


def _days(days: float) -> str:
    if days >= 1:
        whole = round(days)
        return f"{whole} day{'s' if whole != 1 else ''}"
    hours = max(1, round(days * 24))
    return f"{hours} hour{'s' if hours != 1 else ''}"

"""Energy counters that never run backwards in what we report.

Gateways have been seen to report a lower `whLifetime` after a reboot, and `whToday` values
that drop in the middle of the day. Passing those on would put negative steps into every
chart and energy total built from the history. So a lifetime counter is held at the highest
value reported until the gateway passes it again, and a "today" counter may only fall when
the local day has changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from gem_envoy.drivers.enphase_envoy.derive import Attributes

log = logging.getLogger(__name__)

LIFETIME = ("production_lifetime_wh", "consumption_lifetime_wh")
TODAY = ("production_today_wh", "consumption_today_wh")


def _local_day(now: float) -> date:
    return datetime.fromtimestamp(now).date()


@dataclass
class CounterGuard:
    """Remembers the counters last reported for one device and holds them monotonic."""

    clock: Callable[[], float] = time.time
    _reported: dict[str, int | float] = field(default_factory=dict)
    _day: dict[str, date] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)

    def seed(self, stored: Mapping[str, object]) -> None:
        """Start from the lifetime counters stored before a restart. (Stored "today" values
        carry no day, so they are not seeded.)"""
        for name in LIFETIME:
            value = stored.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._reported[name] = value

    def apply(self, attrs: Attributes) -> Attributes:
        """`attrs` with counter drops replaced by the last value reported."""
        today = _local_day(self.clock())
        held = dict(attrs)
        for name in (*LIFETIME, *TODAY):
            value = attrs.get(name)
            if not isinstance(value, int | float):
                continue
            previous = self._reported.get(name)
            new_day = name in TODAY and self._day.get(name) != today
            if previous is not None and value < previous and not new_day:
                held[name] = previous
                self._warn_once(name, value, previous)
                continue
            self._reported[name] = value
            self._day[name] = today
        return held

    def _warn_once(self, name: str, value: float, previous: float) -> None:
        if name not in self._warned:
            self._warned.add(name)
            log.warning(
                "%s went back from %s to %s (a gateway reboot?); holding %s until it passes",
                name,
                previous,
                value,
                previous,
            )

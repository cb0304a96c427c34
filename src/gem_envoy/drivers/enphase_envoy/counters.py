"""Readings that a plant could really have sent, and counters that never run backwards.

Gateways have been seen to report a lower `whLifetime` after a reboot, and `whToday` values
that drop in the middle of the day. Passing those on would put negative steps into every
chart and energy total built from the history. So a lifetime counter is held at the highest
value reported until the gateway passes it again, and a "today" counter may only fall when
the local day has changed.

Values no plant can report (see `plausible`) are dropped before that, so they are never
shown and never become the value a counter is held at. A counter that grows faster than the
plant could have produced is held as suspect: the next reading adopts it only if it goes on
from there at a possible pace (a real catch-up after an outage does), else it stays held.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from gem_envoy.drivers.enphase_envoy.derive import Attributes
from gem_envoy.drivers.enphase_envoy.plausible import LIFETIME, TODAY, PlantBounds

log = logging.getLogger(__name__)


def _local_day(now: float) -> date:
    return datetime.fromtimestamp(now).date()


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


@dataclass(frozen=True, slots=True)
class _Reading:
    value: float
    at: float | None  # None: seeded from storage, when it was read is not known


@dataclass
class CounterGuard:
    """Remembers the counters last reported for one device and holds them plausible and
    monotonic."""

    clock: Callable[[], float] = time.time
    # The day of a moment where the gateway's today counters start again: its `time_zone`'s
    # (set by the driver), else this host's.
    day_of: Callable[[float], date] = field(default=lambda moment: _local_day(moment))
    _reported: dict[str, _Reading] = field(default_factory=dict)
    _suspect: dict[str, _Reading] = field(default_factory=dict)
    _day: dict[str, date] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    _inverters: int | None = None

    def seed(self, stored: Mapping[str, object]) -> None:
        """Start from the lifetime counters stored before a restart. (Stored "today" values
        carry no day, so they are not seeded.) An impossible stored value is not kept."""
        self._learn_size(stored)
        bounds = PlantBounds(self._inverters)
        for name in LIFETIME:
            value = _number(stored.get(name))
            if value is not None and bounds.why_impossible(name, value) is None:
                self._reported[name] = _Reading(value, None)

    def apply(self, attrs: Attributes) -> Attributes:
        """`attrs` without impossible values, and with counter drops and unconfirmed jumps
        replaced by the last value reported."""
        now = self.clock()
        self._learn_size(attrs)
        held = self._possible(attrs)
        for name in (*LIFETIME, *TODAY):
            value = _number(held.get(name))
            if value is None:
                continue
            kept = self._checked(name, value, now)
            if kept is None:
                self._reported[name] = _Reading(value, now)
                self._day[name] = self.day_of(now)
                self._suspect.pop(name, None)
            else:
                held[name] = kept
        return held

    def _learn_size(self, values: Mapping[str, object]) -> None:
        count = _number(values.get("inverter_count"))
        if count is not None and count > 0:
            self._inverters = max(int(count), self._inverters or 0)

    def _possible(self, attrs: Attributes) -> Attributes:
        bounds = PlantBounds(self._inverters)
        possible: Attributes = {}
        for name, value in attrs.items():
            number = _number(value)
            reason = None if number is None else bounds.why_impossible(name, number)
            if reason is None:
                possible[name] = value
            else:
                self._warn_once(f"refused:{name}", f"{name} = {value} refused: {reason}")
        return possible

    def _checked(self, name: str, value: float, now: float) -> int | float | None:
        """None to adopt `value`; else the value to report instead."""
        last = self._reported.get(name)
        if last is None:
            return None
        new_day = name in TODAY and self._day.get(name) != self.day_of(now)
        if new_day:
            return None
        if value < last.value:
            self._warn_once(
                name,
                f"{name} went back from {last.value} to {value} (a gateway reboot?); "
                f"holding {last.value} until it passes",
            )
            return last.value
        if last.at is None or self._possible_gain(name, last, value, now):
            return None
        suspect = self._suspect.get(name)
        confirmed = suspect is not None and self._possible_gain(name, suspect, value, now)
        if confirmed:
            return None  # a second reading goes on from the jump at a possible pace: real
        self._suspect[name] = _Reading(value, now)
        self._warn_once(
            f"jump:{name}",
            f"{name} jumped from {last.value} to {value}, more than this plant can produce "
            f"in that time; holding {last.value} until a second reading confirms it",
        )
        return last.value

    def _possible_gain(self, name: str, since: _Reading, value: float, now: float) -> bool:
        elapsed = now - since.at if since.at is not None else float("inf")
        gain = value - since.value
        bounds = PlantBounds(self._inverters)
        return 0 <= gain <= bounds.max_gain_wh(name, max(0.0, elapsed))

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)

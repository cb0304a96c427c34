"""How the simulated Encharge follows the storage settings of ``/admin/lib/tariff``.

- ``self-consumption``: a solar surplus charges the battery; a deficit is covered by
  discharging, down to the reserve.
- ``backup`` (full backup): a surplus charges the battery to full; it never discharges while
  the grid is up (and the simulated grid always is).
- ``economy`` (savings; old firmware's ``savings-mode``): a surplus charges; a deficit is
  covered by the battery only in the tariff's peak periods (the periods of a day whose rate is
  above that day's lowest), down to the reserve.
- ``charge_from_grid``: when solar is short and the mode does not discharge, the battery
  charges from the grid: to full in backup and in economy's off-peak hours, up to the reserve
  in self-consumption.

Pure: the plant asks `BatterySettings.intent` for a local time and applies it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

MODES = ("self-consumption", "backup", "economy", "savings-mode")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class DayRates:
    """One day-type of a season: the weekdays it covers and its (start minute, rate) periods."""

    weekdays: frozenset[str]
    periods: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Season:
    month: int
    day: int
    days: tuple[DayRates, ...]


@dataclass(frozen=True)
class PeakCalendar:
    """When the tariff's expensive periods are, from its ``seasons``."""

    seasons: tuple[Season, ...] = ()

    @classmethod
    def from_tariff(cls, tariff: Any) -> PeakCalendar:
        """Read leniently: a tariff whose seasons cannot be read has no peak periods."""
        try:
            seasons = tuple(_season(s) for s in tariff.get("seasons") or ())
        except (AttributeError, KeyError, TypeError, ValueError):
            return cls()
        return cls(tuple(sorted(seasons, key=lambda s: (s.month, s.day))))

    def is_peak(self, local: dt.datetime) -> bool:
        season = self._season(local)
        if season is None:
            return False
        weekday = _WEEKDAYS[local.weekday()]
        day = next((d for d in season.days if weekday in d.weekdays), None)
        if day is None or not day.periods:
            return False
        minute = local.hour * 60 + local.minute
        current = [rate for start, rate in day.periods if start <= minute]
        rate = current[-1] if current else day.periods[-1][1]
        return rate > min(r for _, r in day.periods)

    def _season(self, local: dt.datetime) -> Season | None:
        if not self.seasons:
            return None
        started = [s for s in self.seasons if (s.month, s.day) <= (local.month, local.day)]
        # Before the first start of the year, last year's last season still runs.
        return started[-1] if started else self.seasons[-1]


def _season(value: Any) -> Season:
    month, day = (int(part) for part in str(value["start"]).split("/"))
    days = tuple(
        DayRates(
            frozenset(str(d["days"]).split(",")),
            tuple(sorted((int(p["start"]), float(p["rate"])) for p in d["periods"])),
        )
        for d in value["days"]
    )
    return Season(month, day, days)


@dataclass(frozen=True)
class Intent:
    """What every battery unit should do about a deficit now (a surplus always charges)."""

    discharge_floor_percent: float | None
    """Cover the home's deficit down to this charge; None: do not discharge."""
    grid_charge_to_percent: float | None
    """Charge from the grid up to this charge; None: do not."""


@dataclass(frozen=True)
class BatterySettings:
    mode: str = "self-consumption"
    reserve_soc_percent: float = 20.0
    charge_from_grid: bool = False
    peaks: PeakCalendar = field(default_factory=PeakCalendar)

    @classmethod
    def from_tariff(cls, tariff: Any, default_reserve: float) -> BatterySettings:
        """The settings of a tariff object as the gateway stored it (already checked)."""
        settings = tariff.get("storage_settings") or {}
        reserve = settings.get("reserved_soc")
        return cls(
            mode=settings.get("mode") or "self-consumption",
            reserve_soc_percent=float(reserve) if reserve is not None else default_reserve,
            charge_from_grid=bool(settings.get("charge_from_grid")),
            peaks=PeakCalendar.from_tariff(tariff),
        )

    def intent(self, local: dt.datetime) -> Intent:
        if self.mode == "backup":
            return Intent(None, 100.0 if self.charge_from_grid else None)
        if self.mode in ("economy", "savings-mode"):
            if self.peaks.is_peak(local):
                return Intent(self.reserve_soc_percent, None)
            return Intent(None, 100.0 if self.charge_from_grid else None)
        grid = self.reserve_soc_percent if self.charge_from_grid else None
        return Intent(self.reserve_soc_percent, grid)

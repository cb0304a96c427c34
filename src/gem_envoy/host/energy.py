"""Energy reports: a device's counter energy summed into the local hours, days, months or
years of its plant, and the two ratios an owner reads (self-consumption, self-sufficiency).

Pure functions: the energy comes in as deltas per UTC-aligned slot (`energy_source.py`), and
the buckets are local calendar spans made with zoneinfo, so that a DST change day has 23 or
25 hours and a month is what the calendar on the wall says.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gem_envoy.host.contract import ENERGY_ROLES

PERIODS = ("hour", "day", "month", "year")
# A year of days (leap years too) times ten, or five months of hours: more is a mistake.
MAX_BUCKETS = 3660
HOUR_S = 3600
# The most years the year view goes back when asked for "all"; empty leading years are cut.
YEARS_BACK = 10


class EnergyRequestError(ValueError):
    """A report that cannot be made as asked (bad span, unknown zone): the caller's fault."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One local span [start, end): `label` is its name in the report (2026-03-29, 2026-03,
    2026, or the hour's local start with its offset)."""

    label: str
    start: dt.datetime  # aware, local
    end: dt.datetime

    @property
    def start_s(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return self.end.timestamp()


@dataclass(frozen=True, slots=True)
class Span:
    """The dates a report covers, widened to whole buckets: `first` and `last` inclusive."""

    period: str
    first: dt.date
    last: dt.date


def zone_named(name: object) -> ZoneInfo | None:
    """The IANA zone called `name`, None for anything else (empty, unknown, not text)."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def host_zone() -> ZoneInfo:
    """The host's own zone, by its IANA name (TZ, /etc/timezone, /etc/localtime's link), so
    the report can say which it used; UTC when none can be named."""
    candidates: list[object] = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    with contextlib.suppress(OSError):
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        zone = zone_named(name)
        if zone is not None:
            return zone
    return ZoneInfo("UTC")


def span(period: str, first: dt.date | None, last: dt.date | None, today: dt.date) -> Span:
    """The dates of a report: the ones asked, widened to whole months or years for those
    periods, or the defaults (hour: today; day: this month; month: this year; year: the
    last ten). EnergyRequestError for an unknown period, `last` before `first`, or a span
    of more than MAX_BUCKETS buckets."""
    if period not in PERIODS:
        raise EnergyRequestError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    if period == "hour":
        first = first or last or today
        last = last or first
    elif period == "day":
        first = first or (last or today).replace(day=1)
        last = last or _month_end(first)
    elif period == "month":
        first = (first or (last or today).replace(month=1)).replace(day=1)
        last = _month_end(last or first.replace(month=12))
    else:
        first = first or (last or today).replace(year=(last or today).year - YEARS_BACK + 1)
        first = first.replace(month=1, day=1)
        last = (last or first.replace(year=today.year)).replace(month=12, day=31)
        if last < first:
            last = first.replace(month=12, day=31)
    if last < first:
        raise EnergyRequestError(f"to ({last}) is before from ({first})")
    count = _count(period, first, last)
    if count > MAX_BUCKETS:
        raise EnergyRequestError(
            f"{count} {period} buckets asked; at most {MAX_BUCKETS} in one report"
        )
    return Span(period, first, last)


def _month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _count(period: str, first: dt.date, last: dt.date) -> int:
    days = (last - first).days + 1
    if period == "hour":
        return days * 24 + 1  # a fall-back day has one hour more
    if period == "day":
        return days
    if period == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return last.year - first.year + 1


def buckets(report: Span, zone: ZoneInfo) -> list[Bucket]:
    """The local buckets of `report`, oldest first, end to end."""
    if report.period == "hour":
        return _hours(report, zone)
    starts: list[dt.date] = []
    day = report.first
    while day <= report.last:
        starts.append(day)
        day = _next(report.period, day)
    return [
        Bucket(
            _label(report.period, d), _midnight(d, zone), _midnight(_next(report.period, d), zone)
        )
        for d in starts
    ]


def _next(period: str, day: dt.date) -> dt.date:
    if period == "day":
        return day + dt.timedelta(days=1)
    if period == "month":
        return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day.replace(year=day.year + 1, month=1, day=1)


def _label(period: str, day: dt.date) -> str:
    if period == "day":
        return day.isoformat()
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}"


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    # Through UTC and back, so that the datetime carries its true offset (and fold).
    local = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    return dt.datetime.fromtimestamp(local.timestamp(), zone)


def _hours(report: Span, zone: ZoneInfo) -> list[Bucket]:
    # Hours are counted in UTC, where each is 3600 s, and named in local time: a day that
    # springs forward has 23 of them, one that falls back 25 (its 02:00 twice, two offsets).
    start = int(_midnight(report.first, zone).timestamp())
    end = int(_midnight(report.last + dt.timedelta(days=1), zone).timestamp())
    out = []
    for t in range(start, end, HOUR_S):
        local = dt.datetime.fromtimestamp(t, zone)
        following = dt.datetime.fromtimestamp(min(t + HOUR_S, end), zone)
        out.append(Bucket(local.isoformat(timespec="minutes"), local, following))
    return out


def resolution_for(spans: Sequence[Bucket]) -> int:
    """The rollup resolution whose slots fit the buckets: hourly when every boundary falls on
    a UTC hour, else 5 minutes (zones half or quarter of an hour off UTC)."""
    whole = all(int(b.start_s) % HOUR_S == 0 and int(b.end_s) % HOUR_S == 0 for b in spans)
    return HOUR_S if whole else 300


@dataclass(frozen=True, slots=True)
class Totals:
    """Energy per role in Wh (None: the device lacks the role, or nothing was recorded)."""

    energy: Mapping[str, float | None]

    @property
    def self_consumption(self) -> float | None:
        """The share of production used on site, in %: (production - export) / production."""
        return _share(self.energy.get("production"), self.energy.get("grid_export"))

    @property
    def self_sufficiency(self) -> float | None:
        """The share of consumption not bought, in %: (consumption - import) / consumption."""
        return _share(self.energy.get("consumption"), self.energy.get("grid_import"))


def _share(whole: float | None, away: float | None) -> float | None:
    if whole is None or away is None or whole <= 0:
        return None
    # Clamped: stored energy sold to the grid, or counters read a moment apart, can exceed.
    return max(0.0, min(100.0, 100.0 * (whole - away) / whole))


def sum_into(spans: Sequence[Bucket], deltas: Mapping[str, Mapping[float, float]]) -> list[Totals]:
    """Each bucket's energy per role: the deltas (slot start -> Wh) of the slots starting
    inside it. A role without deltas in a bucket is None there (nothing recorded), and a
    role missing from `deltas` is None everywhere (the device lacks it)."""
    starts = [b.start_s for b in spans]
    end = spans[-1].end_s if spans else 0.0
    sums: list[dict[str, float | None]] = [dict.fromkeys(ENERGY_ROLES) for _ in spans]
    for role, slots in deltas.items():
        for t, wh in slots.items():
            if not starts or t < starts[0] or t >= end:
                continue
            index = bisect.bisect_right(starts, t) - 1
            sums[index][role] = (sums[index][role] or 0.0) + wh
    return [Totals(one) for one in sums]


def total(parts: Sequence[Totals]) -> Totals:
    """The sum of buckets per role (None where no bucket has a value)."""
    out: dict[str, float | None] = dict.fromkeys(ENERGY_ROLES)
    for part in parts:
        for role, wh in part.energy.items():
            if wh is not None:
                out[role] = (out[role] or 0.0) + wh
    return Totals(out)

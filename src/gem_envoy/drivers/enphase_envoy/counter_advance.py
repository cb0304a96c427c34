"""Today and lifetime energy between two `/production.json` reads, moved on by the CTs.

On a metered plant `/production.json` (the gateway's slow CGI) is read every few minutes,
but the gateway updates its production and consumption counters continuously from the
CTs. Reporting the last read for minutes would leave them staler than the gateway keeps
them, so each counter is advanced from its anchor (the value `/production.json` gave) by
what the matching CT counter in `/ivp/meters/readings` moved since the readings taken in the
same cycle as the anchor. The next `/production.json` read replaces the anchor with the
gateway's own value. "Today" counters are not advanced past the gateway's local midnight:
the poller reads `/production.json` in the first cycle of a new day, which starts it from the
gateway's own value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gem_envoy.drivers.enphase_envoy.values import Attributes, whole

# The CT counter (see ct_readings.energy_counters) each attribute moves with.
ADVANCED = {
    "production_today_wh": "production",
    "production_lifetime_wh": "production",
    "consumption_today_wh": "consumption",
    "consumption_lifetime_wh": "consumption",
}
TODAY = frozenset({"production_today_wh", "consumption_today_wh"})


@dataclass(frozen=True, slots=True)
class _Anchor:
    day: date  # the gateway's local day when /production.json gave `values`
    values: Mapping[str, float]  # attribute -> what /production.json said
    ct: Mapping[str, float]  # CT counter -> its value in the readings of the same cycle


class CounterAdvance:
    """One gateway's anchors; empty until a cycle has read both files."""

    def __init__(self) -> None:
        self._anchor: _Anchor | None = None

    def forget(self) -> None:
        self._anchor = None

    def anchor(self, report: Attributes, ct: Mapping[str, float], day: date) -> None:
        """`report`: the attributes derived from a `/production.json` just read; `ct`: the
        CT counters read right after it."""
        values = {
            name: float(value)
            for name, value in report.items()
            if name in ADVANCED and isinstance(value, int | float)
        }
        self._anchor = _Anchor(day, values, dict(ct))

    def advanced(self, ct: Mapping[str, float], day: date) -> Attributes:
        """The anchored counters moved on by the CTs' counters `ct`; a counter whose CT is
        not in both readings, and a today counter on another day than its anchor, is left
        out (the caller keeps the report's value)."""
        anchor = self._anchor
        if anchor is None:
            return {}
        attrs: Attributes = {}
        for name, value in anchor.values.items():
            counter = ADVANCED[name]
            if counter not in ct or counter not in anchor.ct:
                continue
            if name in TODAY and day != anchor.day:
                continue
            # Never below the anchor: a CT counter that went back (a meter reset) must not
            # pull the gateway's own figure down.
            moved = max(0.0, ct[counter] - anchor.ct[counter])
            attrs[name] = whole(value + moved)
        return attrs


def host_day() -> date:
    """Today on this host's clock and zone (a gateway without a `time_zone` setting)."""
    return datetime.now().date()


def zone_day(zone: str | None) -> Callable[[], date]:
    """Today in the gateway's zone (an IANA name); the host's where none is set or known."""
    where = _zone(zone)
    if where is None:
        return host_day
    return lambda: datetime.now(where).date()


def zone_day_of(zone: str | None) -> Callable[[float], date]:
    """The day of a moment (epoch seconds) in the gateway's zone; the host's where none
    is set or known."""
    where = _zone(zone)
    return lambda moment: datetime.fromtimestamp(moment, where).date()


def _zone(zone: str | None) -> ZoneInfo | None:
    if not zone:
        return None
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None

"""A year of one gateway's history, made up fast: the series a 40-zone site with CTs and an
Encharge battery charts (its driver's `history=True` attributes), one point per poll, in
the shape the host stores them (whole watts and watt-hours, a poll's fractional time).

Not a physical model (that is `sim.plant`, far too slow for 64 million points): a sun that
rises and sets and is stronger in summer, a home that uses more in the evening, and the
lifetime counters integrating both, so that rollups and energy sums see realistic series.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from gem_envoy.host.store import HistorySeries

DAY_S = 86_400.0
# Whatever the phase, the driver charts these of a split-phase site with CTs and a battery.
PHASED = ("production_now_w", "consumption_now_w", "net_power_w")
COUNTERS = (
    "production_lifetime_wh",
    "consumption_lifetime_wh",
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
    "battery_charged_lifetime_wh",
    "battery_discharged_lifetime_wh",
)
OTHERS = (
    "production_today_wh",
    "consumption_today_wh",
    "battery_now_w",
    "battery_soc_percent",
    "battery_capacity_wh",
    "inverter_count",
)
PANEL_W = 350.0
INVERTERS_EVERY_S = 300.0
"""The driver reads the inverter list (its zones' `last_w`) every 5 minutes, the rest each
poll (the CTs' energy each minute, reported from the last reading in between)."""


def device_names() -> tuple[str, ...]:
    phases = tuple(f"{name}_l{n}" for name in PHASED for n in (1, 2))
    return (*PHASED, *phases, *COUNTERS, *OTHERS)


@dataclass
class Site:
    """The site's state between chunks: its counters go on from one chunk to the next."""

    device_id: int
    zone_ids: list[int]
    interval_s: float = 30.0
    counters: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 1_000_000.0))
    soc: float = 50.0

    def series(self, since: float, until: float) -> list[HistorySeries]:
        """Every series' points of the polls in [since, until)."""
        device: dict[str, list[tuple[float, float]]] = {n: [] for n in device_names()}
        zones: list[list[tuple[float, float]]] = [[] for _ in self.zone_ids]
        for t in self._polls(since, until):
            for name, value in self._poll(t, device, zones):
                device[name].append((t, value))
        out = [HistorySeries("device", self.device_id, n, p) for n, p in device.items()]
        out += [
            HistorySeries("zone", zone_id, "last_w", points)
            for zone_id, points in zip(self.zone_ids, zones, strict=True)
        ]
        return out

    def _polls(self, since: float, until: float) -> Iterator[float]:
        first = math.ceil(since / self.interval_s)
        last = math.ceil(until / self.interval_s)
        for n in range(first, last):
            # A poll's time has a fraction of a second, as time.time() gives the host.
            yield n * self.interval_s + (n * 0.137) % 1.0

    def _poll(
        self,
        t: float,
        device: dict[str, list[tuple[float, float]]],
        zones: list[list[tuple[float, float]]],
    ) -> Iterator[tuple[str, float]]:
        hours = self.interval_s / 3600
        day = (t % (365.25 * DAY_S)) / DAY_S
        hour = (t % DAY_S) / 3600
        season = 0.65 + 0.35 * math.sin(2 * math.pi * (day - 80) / 365.25)
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 12)) * season
        panel = round(PANEL_W * sun * (0.97 + 0.03 * math.sin(t / 977)))
        if t % INVERTERS_EVERY_S < self.interval_s:  # the driver reads them every 5 minutes
            for points in zones:
                points.append((t, panel))
        solar = panel * len(zones)
        home = 350 + 900 * math.exp(-0.5 * ((hour - 19.5) / 1.5) ** 2)
        battery = _battery(solar - home, self.soc)  # positive: discharging
        self.soc = min(100.0, max(10.0, self.soc - battery * hours / 100))
        grid = home - solar - battery  # positive: importing
        c = self.counters
        c["production_lifetime_wh"] += solar * hours
        c["consumption_lifetime_wh"] += home * hours
        c["grid_import_lifetime_wh"] += max(0.0, grid) * hours
        c["grid_export_lifetime_wh"] += max(0.0, -grid) * hours
        c["battery_charged_lifetime_wh"] += max(0.0, -battery) * hours
        c["battery_discharged_lifetime_wh"] += max(0.0, battery) * hours
        values = {
            "production_now_w": solar,
            "consumption_now_w": home,
            "net_power_w": -grid,
        }
        for name, value in values.items():
            yield name, round(value)
            yield f"{name}_l1", round(value / 2)
            yield f"{name}_l2", round(value - round(value / 2))
        for name, value in c.items():
            yield name, round(value)
        yield "production_today_wh", round(c["production_lifetime_wh"] % 30_000)
        yield "consumption_today_wh", round(c["consumption_lifetime_wh"] % 20_000)
        yield "battery_now_w", round(battery)
        yield "battery_soc_percent", round(self.soc)
        yield "battery_capacity_wh", round(100 * self.soc)
        yield "inverter_count", len(zones)


def _battery(surplus_w: float, soc: float) -> float:
    """Charge from a surplus, discharge into a deficit, at most 3.84 kW, within 10-100 %."""
    if surplus_w > 0:
        return -min(3840.0, surplus_w) if soc < 100 else 0.0
    return min(3840.0, -surplus_w) if soc > 10 else 0.0

"""The demo's simulated plant, planned before it starts: its sunny day (`demo_clock`), its
past (`demo_history`) for the span the database lacks, and the live plant set to go on from
that past, so that counters never go back and the charts run on without a step.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass

from gem_envoy.cli.demo_clock import DemoDay, demo_day, demo_notice
from gem_envoy.cli.demo_history import DemoHistory, simulate_history
from gem_envoy.host.store import HistorySeries, NotFoundError, Store, Zone
from gem_envoy.sim.options import SimOptions
from gem_envoy.sim.plant import PlantConfig

DAY_S = 86_400.0
HISTORY_DAYS = 7
"""At most this much past is made: the page's longest chart."""
MIN_GAP_S = 60.0
"""A shorter gap since the last point is not worth filling."""


@dataclass
class DemoSimOptions(SimOptions):
    battery_start_percent: float = 50.0
    """The batteries' charge at the plant's local midnight, from which the simulator's plant
    starts its first day (the history's, for a charge that runs on from it)."""

    def plant_config(self) -> PlantConfig:
        config = super().plant_config()
        return dataclasses.replace(config, initial_soc_percent=self.battery_start_percent)


@dataclass(frozen=True)
class DemoPlan:
    day: DemoDay
    options: DemoSimOptions
    history: DemoHistory | None
    notice: str


async def plan_plant(store: Store, device_name: str, now: float) -> DemoPlan:
    """The simulator's options and the history to write for a demo started at ``now``:
    the last 7 days on a first run, the gap since the last stored point on later ones."""
    day = demo_day(now)
    production, consumption, last = await _stored(store, device_name)
    options = DemoSimOptions(
        inverters=12,
        cts=True,
        battery=True,
        utc_offset_s=day.utc_offset_s,
        production_at_least_wh=production,
        consumption_at_least_wh=consumption,
    )
    since = max(now - HISTORY_DAYS * DAY_S, last if last is not None else 0.0)
    if now - since < MIN_GAP_S:
        return DemoPlan(day, options, None, demo_notice(day, now, 0))
    # A few tenths of a second of arithmetic: off the event loop all the same.
    history = await asyncio.to_thread(simulate_history, options.plant_config(), since, now)
    options = dataclasses.replace(
        options,
        production_at_least_wh=history.production_wh,
        consumption_at_least_wh=history.consumption_wh,
        battery_start_percent=history.battery_percent,
    )
    return DemoPlan(day, options, history, demo_notice(day, now, (now - since) / DAY_S))


async def _stored(store: Store, device_name: str) -> tuple[float, float, float | None]:
    """The production and consumption lifetimes the demo device last reported (0 before
    its first poll), and when its newest history point was recorded. The plant goes on from
    them rather than restarting from the same start values at every run, which the driver
    would take for a gateway reboot."""
    try:
        device = await store.get_device(device_name)
    except NotFoundError:
        return 0.0, 0.0, None
    stored = await store.get_attributes("device", device.id)

    def value(name: str) -> float:
        found = stored[name].value if name in stored else None
        is_number = isinstance(found, int | float) and not isinstance(found, bool)
        return float(found) if is_number else 0.0  # type: ignore[arg-type]

    last = await store.latest_history("device", device.id)
    return value("production_lifetime_wh"), value("consumption_lifetime_wh"), last


def device_history(
    history: DemoHistory, device_id: int, charted: Collection[str]
) -> list[HistorySeries]:
    return [
        HistorySeries("device", device_id, name, points)
        for name, points in history.device.items()
        if name in charted
    ]


def zone_history(history: DemoHistory, zones: Collection[Zone]) -> list[HistorySeries]:
    """Each inverter zone's `last_w`, found by its address (the inverter's serial)."""
    return [
        HistorySeries("zone", zone.id, "last_w", history.inverters[zone.address])
        for zone in zones
        if zone.address in history.inverters
    ]

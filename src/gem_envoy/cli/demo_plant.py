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
HISTORY_DAYS = 400
"""At most this much past is made: the energy page's year views (this year and last) and a
year-over-year comparison have something to show from the first run."""
MIN_GAP_S = 60.0
"""A shorter gap since the last point is not worth filling."""


@dataclass
class DemoSimOptions(SimOptions):
    battery_start_percent: float = 50.0
    """The batteries' charge at the plant's local midnight, from which the simulator's plant
    starts its first day (the history's, for a charge that runs on from it)."""
    grid_import_from_wh: float | None = None
    grid_export_from_wh: float | None = None
    """The grid counters the plant starts from (the history's last, or the database's)."""

    def plant_config(self) -> PlantConfig:
        config = super().plant_config()
        return dataclasses.replace(
            config,
            initial_soc_percent=self.battery_start_percent,
            grid_import_from_wh=self.grid_import_from_wh,
            grid_export_from_wh=self.grid_export_from_wh,
        )


@dataclass(frozen=True)
class DemoPlan:
    day: DemoDay
    options: DemoSimOptions
    history: DemoHistory | None
    notice: str


async def plan_plant(store: Store, device_name: str, now: float) -> DemoPlan:
    """The simulator's options and the history to write for a demo started at ``now``:
    the last 400 days on a first run, the gap since the last stored point on later ones."""
    day = demo_day(now)
    stored = await _stored(store, device_name)
    options = DemoSimOptions(
        inverters=12,
        cts=True,
        battery=True,
        # One Encharge unit: with two, the plant's sunny days carry every night and the
        # energy page would show no import at all.
        battery_units=1,
        # No CT on the battery's circuit: the demo's history has no battery energy counters
        # to carry on from (the grid's it has, see grid_import_from_wh).
        storage_ct=False,
        utc_offset_s=day.utc_offset_s,
        production_at_least_wh=stored.get("production_lifetime_wh", 0.0),
        consumption_at_least_wh=stored.get("consumption_lifetime_wh", 0.0),
        grid_import_from_wh=stored.get("grid_import_lifetime_wh"),
        grid_export_from_wh=stored.get("grid_export_lifetime_wh"),
    )
    last = await _latest(store, device_name)
    since = max(now - HISTORY_DAYS * DAY_S, last if last is not None else 0.0)
    if now - since < MIN_GAP_S:
        return DemoPlan(day, options, None, demo_notice(day, now, 0))
    # A few tenths of a second of arithmetic: off the event loop all the same.
    history = await asyncio.to_thread(simulate_history, options.plant_config(), since, now)
    options = dataclasses.replace(
        options,
        production_at_least_wh=history.production_wh,
        consumption_at_least_wh=history.consumption_wh,
        grid_import_from_wh=history.grid_import_wh,
        grid_export_from_wh=history.grid_export_wh,
        battery_start_percent=history.battery_percent,
    )
    return DemoPlan(day, options, history, demo_notice(day, now, (now - since) / DAY_S))


COUNTERS = (
    "production_lifetime_wh",
    "consumption_lifetime_wh",
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
)


async def _stored(store: Store, device_name: str) -> dict[str, float]:
    """The lifetime counters the demo device last reported (none before its first poll).
    The plant goes on from them rather than restarting from the same start values at every
    run, which the driver would take for a gateway reboot."""
    try:
        device = await store.get_device(device_name)
    except NotFoundError:
        return {}
    stored = await store.get_attributes("device", device.id)
    found = {name: stored[name].value for name in COUNTERS if name in stored}
    return {
        name: float(value)
        for name, value in found.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


async def _latest(store: Store, device_name: str) -> float | None:
    """When the demo device's newest history point was recorded (None: never)."""
    try:
        device = await store.get_device(device_name)
    except NotFoundError:
        return None
    return await store.latest_history("device", device.id)


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

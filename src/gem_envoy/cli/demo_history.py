"""The demo's past: the charted attributes of its gateway, as the simulated plant would have
reported them over the days before the demo started, so that its charts are not empty.

The simulator's own plant model (`sim.plant`) is run over the missing span and sampled, and
each sample is turned into the attribute values the enphase_envoy driver derives from the
gateway's answers (the same rounding and signs), for the names the driver charts. The span
ends where the live simulator begins, and the live plant goes on from the history's last
state (lifetime counters, battery charge), so each chart line runs on without a step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gem_envoy.drivers.enphase_envoy.values import whole
from gem_envoy.sim.plant import Plant, PlantConfig, Snapshot

FINE_SPAN_S = 86_400.0
"""The last day is sampled finer: the 24-hour chart is the one looked at most."""
FINE_STEP_S = 60.0
COARSE_SPAN_S = 10 * 86_400.0
"""The last 10 days (as long as the host keeps raw points) every 5 minutes; before them,
hourly: the host keeps only hourly buckets of those days, so finer points would only cost
time (400 days in a few seconds)."""
COARSE_STEP_S = 300.0
"""Five minutes: the inverters' own reporting period, and plenty for a 7-day chart."""
HOURLY_STEP_S = 3600.0

Points = list[tuple[float, float]]


@dataclass
class DemoHistory:
    since: float
    until: float
    device: dict[str, Points] = field(default_factory=dict)
    """Attribute name -> (time, value) points."""
    inverters: dict[str, Points] = field(default_factory=dict)
    """Inverter serial -> its `last_w` points over the last 10 days (a zone's address is its
    inverter's serial)."""
    production_wh: float = 0.0
    consumption_wh: float = 0.0
    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0
    """The lifetime counters at `until`, where the live plant's go on from."""
    battery_percent: float = 50.0
    """The batteries' charge at the plant's last local midnight before `until`, where the
    live plant (which starts its day there) sets out from."""

    @property
    def points(self) -> int:
        series = (*self.device.values(), *self.inverters.values())
        return sum(len(points) for points in series)


def simulate_history(config: PlantConfig, since: float, until: float) -> DemoHistory:
    """The plant of ``config`` from ``since`` to ``until`` (both excluded), sampled every
    hour, every 5 minutes over the last 10 days and every minute over the last day,
    integrated in steps as long as its samples' (at most 5 minutes in the last 10 days).
    Its lifetime counters start from ``config``'s floors (what the database last held) at
    ``since``."""
    plant = Plant(config, since)
    history = DemoHistory(since, until, battery_percent=config.initial_soc_percent)
    midnight = plant.local_midnight(until)
    for t in _sample_times(since, until):
        if plant.time <= midnight <= t:
            plant.advance_to(midnight)
            history.battery_percent = _charge_percent(plant)
        plant.advance_to(t, step_s=_step(until - t))
        snap = plant.snapshot(detached=False)
        for name, value in device_values(plant, snap).items():
            history.device.setdefault(name, []).append((t, value))
        # Their reports change only every five minutes, and no view charts an inverter
        # further back than the raw points kept (10 days): older ones would cost start-up.
        if _on_report_period(t) and until - t <= COARSE_SPAN_S:
            for inverter, report in zip(plant.inverters, snap.reports, strict=True):
                history.inverters.setdefault(inverter.serial, []).append((t, report.watts))
    if plant.time <= midnight:  # no sample since that midnight: it is within the last minute
        plant.advance_to(midnight)
        history.battery_percent = _charge_percent(plant)
    plant.advance_to(until)
    history.production_wh = plant.counters.production_wh
    history.consumption_wh = plant.counters.consumption_wh
    history.grid_import_wh = plant.counters.import_wh
    history.grid_export_wh = plant.counters.export_wh
    return history


def device_values(plant: Plant, snap: Snapshot) -> dict[str, float]:
    """What the driver reports from the gateway's answers at this instant (see
    `drivers.enphase_envoy.derive` and `sim.payloads`): whole watts and watt-hours, grid
    power positive when exporting, battery power positive when discharging."""
    c = snap.counters
    cts = plant.config.cts  # without them, production is the inverters' reports
    values: dict[str, float] = {
        "production_now_w": whole(snap.solar_w) if cts else snap.inverters_w,
        "production_today_wh": whole(c.production_today_wh),
        "production_lifetime_wh": whole(c.production_wh if cts else c.inverter_wh),
        "inverter_count": len(plant.inverters),
    }
    if cts:
        values |= {
            "consumption_now_w": whole(snap.consumption_w),
            "consumption_today_wh": whole(c.consumption_today_wh),
            "consumption_lifetime_wh": whole(c.consumption_wh),
            "net_power_w": whole(-snap.grid_w),
            # The net CT's two directions (/ivp/meters/readings), as the driver reads them.
            "grid_import_lifetime_wh": whole(c.import_wh),
            "grid_export_lifetime_wh": whole(c.export_wh),
        }
    if snap.soc_wh:
        values |= {
            "battery_now_w": whole(sum(snap.battery_w)),
            "battery_soc_percent": _battery_percent(plant, list(snap.soc_wh)),
            "battery_capacity_wh": whole(sum(snap.soc_wh)),
        }
    return values


def _step(before_end: float) -> float:
    """The sampling step at ``before_end`` seconds before the history's end."""
    if before_end <= FINE_SPAN_S:
        return FINE_STEP_S
    return COARSE_STEP_S if before_end <= COARSE_SPAN_S else HOURLY_STEP_S


def _charge_percent(plant: Plant) -> float:
    """The batteries' charge now, exact: the live plant's units set out from it alike (they
    share every load equally, so they hold the same)."""
    if not plant.soc_wh:
        return plant.config.initial_soc_percent
    return 100 * sum(plant.soc_wh) / (plant.config.unit_capacity_wh * len(plant.soc_wh))


def _battery_percent(plant: Plant, soc_wh: list[float]) -> float:
    # The gateway reports the aggregate charge in whole percent.
    return float(round(100 * sum(soc_wh) / (plant.config.unit_capacity_wh * len(soc_wh))))


def _sample_times(since: float, until: float) -> list[float]:
    """Whole minutes strictly between ``since`` and ``until``: on the hours until the last
    10 days, then on the 5-minute marks until the last day, then every minute."""
    # Where a finer step starts, on a whole minute: a mark there is never skipped.
    bounds = [
        math.ceil((until - span) / FINE_STEP_S) * FINE_STEP_S
        for span in (COARSE_SPAN_S, FINE_SPAN_S)
    ]
    times = []
    t = math.floor(since / FINE_STEP_S) * FINE_STEP_S + FINE_STEP_S
    while t < until:
        step = _step(until - t)
        if t % step == 0:
            times.append(t)
        t = min([math.floor(t / step) * step + step, *(b for b in bounds if b > t)])
    return times


def _on_report_period(t: float) -> bool:
    return t % COARSE_STEP_S == 0

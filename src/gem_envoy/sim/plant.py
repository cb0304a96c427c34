"""The physics of a simulated plant: sun, microinverters, home load, batteries, meters.

Pure: no I/O and no clock. Time (epoch seconds, simulated) is passed in; `Plant.advance_to`
integrates the energy counters up to that instant in bounded steps, so an idle plant costs
nothing and a request after a long pause costs a bounded amount of work.

Sign conventions: battery power is positive when discharging; grid power is positive when
importing. Grid = load - solar + charging - discharging. Total consumption is the home load
itself, so that solar + grid + battery discharge = home, the balance a power-flow view shows.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
from collections import deque
from dataclasses import dataclass, field

from .storage_modes import BatterySettings

DAY_S = 86_400
REPORT_PERIOD_S = 300
"""Microinverters report to the gateway about every five minutes."""
_MAX_STEPS = 5_000
_EPS_WH = 1e-6
GRID_CHARGE_SHARE = 0.5
"""Charging from the grid runs at this share of a unit's rated power."""
GRID_CHARGE_BAND_PERCENT = 1.0
"""A unit starts charging from the grid this far below its target, so that it does not
flicker between charging and discharging at the reserve."""


@dataclass(frozen=True)
class PlantConfig:
    serial: str = "122300000001"
    inverters: int = 12
    cts: bool = True
    battery: bool = False
    battery_units: int = 2
    storage_ct: bool = True
    """With a battery: whether a CT measures its circuit (see `payloads.meters_json`)."""
    unit_capacity_wh: float = 5000.0
    unit_max_power_w: float = 3840.0
    reserve_soc_percent: float = 20.0
    initial_soc_percent: float = 50.0
    utc_offset_s: int = 0
    """Local time = UTC + this; the sun, the load and "today" follow local time."""
    weak_inverter: int | None = None
    """Index of an inverter that under-produces by ``weak_factor`` (a shaded or faulty panel)."""
    weak_factor: float = 0.6
    step_s: float = 30.0
    production_at_least_wh: float = 0.0
    consumption_at_least_wh: float = 0.0
    """Lifetime counters start no lower than these: a plant that goes on from what an
    earlier run reported (the demo's database) rather than looking like a rebooted one."""
    grid_import_from_wh: float | None = None
    grid_export_from_wh: float | None = None
    """Grid counters that start exactly here (after the floors above), when set: a plant
    that goes on from a stored history's import and export (the demo's)."""
    phases: int = 2
    """1 single-phase, 2 split-phase (North America), 3 three-phase (see `phases`)."""

    def __post_init__(self) -> None:
        if self.phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")


@dataclass(frozen=True)
class Inverter:
    serial: str
    capacity_w: float
    factor: float
    """Small per-panel variation (orientation, soiling), around 1."""
    phase: float
    report_offset_s: float


@dataclass
class InverterReport:
    date: int = -1
    watts: int = 0
    max_watts: int = 0


@dataclass
class Overrides:
    sun: float | None = None
    """Forced sun factor 0..1 (1 = clear-sky noon), or None for the daily curve."""
    load_w: float | None = None
    inverter_scale: dict[str, float] = field(default_factory=dict)
    """Serial -> factor applied to that inverter's output."""


@dataclass
class Counters:
    """Energy counters in Wh. Lifetime ones only grow; "today" ones restart at local midnight."""

    production_wh: float
    inverter_wh: float
    consumption_wh: float
    import_wh: float
    export_wh: float
    battery_discharged_wh: float = 0.0  # what the storage CT counts (see payloads)
    battery_charged_wh: float = 0.0
    production_today_wh: float = 0.0
    consumption_today_wh: float = 0.0
    production_days: deque[float] = field(default_factory=lambda: deque(maxlen=7))
    consumption_days: deque[float] = field(default_factory=lambda: deque(maxlen=7))

    @property
    def production_seven_days_wh(self) -> float:
        """Today plus the six days before it."""
        return self.production_today_wh + sum(list(self.production_days)[-6:])

    @property
    def consumption_seven_days_wh(self) -> float:
        return self.consumption_today_wh + sum(list(self.consumption_days)[-6:])


@dataclass(frozen=True)
class Snapshot:
    """The plant at one instant: what every endpoint reports from."""

    time: float
    solar_w: float
    load_w: float
    battery_w: tuple[float, ...]
    grid_w: float
    soc_wh: tuple[float, ...]
    counters: Counters
    reports: tuple[InverterReport, ...]
    reported_w: int | None = None
    """Replaces the sum of the inverters' reports in `inverters_w` (the clock-power probe)."""

    @property
    def consumption_w(self) -> float:
        return self.load_w

    @property
    def inverters_w(self) -> int:
        """The sum of the inverters' last reports (lags the CT by up to five minutes)."""
        if self.reported_w is not None:
            return self.reported_w
        return sum(report.watts for report in self.reports)


class Plant:
    """One plant's state, advanced lazily to the (simulated) time of each request."""

    def __init__(self, config: PlantConfig, start_time: float) -> None:
        self.config = config
        self.overrides = Overrides()
        rng = random.Random(config.serial)
        self.inverters = _make_inverters(config, rng)
        self.battery_serials = _battery_serials(config, rng)
        self._sun_phase = rng.uniform(0, 2 * math.pi)
        self._load_phase = rng.uniform(0, 2 * math.pi)
        self.reports = [_initial_report(inv, rng) for inv in self.inverters]
        self.soc_wh = [self.unit_soc_wh(config.initial_soc_percent)] * len(self.battery_serials)
        # What the gateway's storage settings tell the batteries (see storage_modes).
        self.storage = BatterySettings(reserve_soc_percent=config.reserve_soc_percent)
        self.counters = _initial_counters(self, rng)
        self.initial_counters = copy.deepcopy(self.counters)
        self.time = self.local_midnight(start_time)
        self.advance_to(start_time, step_s=REPORT_PERIOD_S)
        self._continue_counters()

    # -- time ---------------------------------------------------------------------------

    def local_seconds(self, t: float) -> float:
        """Seconds since local midnight."""
        return (t + self.config.utc_offset_s) % DAY_S

    def local_midnight(self, t: float) -> float:
        return t - self.local_seconds(t)

    def local_time(self, t: float) -> dt.datetime:
        """The plant's wall-clock time at ``t`` (naive: in the plant's own time zone)."""
        local = dt.datetime.fromtimestamp(t + self.config.utc_offset_s, dt.UTC)
        return local.replace(tzinfo=None)

    def advance_to(self, t: float, step_s: float | None = None) -> None:
        """Integrate up to ``t`` (never backwards), rolling "today" at each local midnight."""
        if t <= self.time:
            return
        step = max(step_s or self.config.step_s, (t - self.time) / _MAX_STEPS)
        while self.time < t:
            midnight = self.local_midnight(self.time) + DAY_S
            end = min(t, self.time + step, midnight)
            self._integrate(self.time, end)
            self.time = end
            if end >= midnight:
                self._roll_day()
            self._refresh_reports(end)

    def _continue_counters(self) -> None:
        """Lift the lifetime counters to the configured floors, moving grid import and
        export along so that production - export = consumption - import still holds."""
        c = self.counters
        produced = max(0.0, self.config.production_at_least_wh - c.production_wh)
        consumed = max(0.0, self.config.consumption_at_least_wh - c.consumption_wh)
        c.production_wh += produced
        c.inverter_wh += produced
        c.export_wh += produced
        c.consumption_wh += consumed
        c.import_wh += consumed
        if self.config.grid_import_from_wh is not None:
            c.import_wh = self.config.grid_import_from_wh
        if self.config.grid_export_from_wh is not None:
            c.export_wh = self.config.grid_export_from_wh

    def reboot(self, loss: float) -> None:
        """What a reboot does to the counters: every lifetime counter drops by the fraction
        ``loss`` (real gateways have been seen to come back with lower lifetimes), and the
        "today" counters restart from zero."""
        c = self.counters
        for name in ("production_wh", "inverter_wh", "consumption_wh", "import_wh", "export_wh"):
            setattr(c, name, getattr(c, name) * (1 - loss))
        c.production_today_wh = 0.0
        c.consumption_today_wh = 0.0

    # -- the physics, as functions of time ----------------------------------------------

    def sun(self, t: float) -> float:
        """0 at night, a sine from 06:00 to 18:00 local peaking at noon, a little cloud wobble."""
        if self.overrides.sun is not None:
            return max(0.0, min(1.0, self.overrides.sun))
        hour = self.local_seconds(t) / 3600
        if not 6.0 < hour < 18.0:
            return 0.0
        clear = math.sin(math.pi * (hour - 6.0) / 12.0)
        cloud = 0.03 * (1 + math.sin(2 * math.pi * t / 1300 + self._sun_phase))
        return clear * (1 - cloud)

    def inverter_w(self, index: int, t: float) -> float:
        inv = self.inverters[index]
        scale = self.overrides.inverter_scale.get(inv.serial, 1.0)
        if index == self.config.weak_inverter:
            scale *= self.config.weak_factor
        wobble = 1 + 0.01 * math.sin(2 * math.pi * t / 600 + inv.phase)
        return max(0.0, inv.capacity_w * self.sun(t) * inv.factor * wobble * scale)

    def solar_w(self, t: float) -> float:
        return sum(self.inverter_w(i, t) for i in range(len(self.inverters)))

    def load_w(self, t: float) -> float:
        """A base load plus morning, midday and evening bumps: about 300 to 1500 W."""
        if self.overrides.load_w is not None:
            return max(0.0, self.overrides.load_w)
        hour = self.local_seconds(t) / 3600
        bumps = (
            450 * _bump(hour, 7.5, 1.0)
            + 150 * _bump(hour, 13.0, 2.0)
            + 1000 * _bump(hour, 19.5, 1.5)
        )
        wobble = 40 * math.sin(2 * math.pi * t / 900 + self._load_phase)
        return 300 + bumps + wobble

    def battery_w(self, surplus_w: float, t: float) -> list[float]:
        """Per-unit power (positive: discharging) for a solar surplus (negative: a deficit)
        at ``t``, as the storage settings direct (see `storage_modes`)."""
        cfg = self.config
        powers = [0.0] * len(self.soc_wh)
        if surplus_w > 0:  # every mode stores what the panels make beyond the home's load
            full = self.unit_soc_wh(100.0) - _EPS_WH
            units = [i for i, soc in enumerate(self.soc_wh) if soc < full]
            share = -min(cfg.unit_max_power_w, surplus_w / max(1, len(units)))
            for i in units:
                powers[i] = share
            return powers
        intent = self.storage.intent(self.local_time(t))
        if intent.discharge_floor_percent is not None:
            floor = self.unit_soc_wh(intent.discharge_floor_percent) + _EPS_WH
            units = [i for i, soc in enumerate(self.soc_wh) if soc > floor]
            share = min(cfg.unit_max_power_w, -surplus_w / max(1, len(units)))
            for i in units:
                powers[i] = share
        if intent.grid_charge_to_percent is not None:
            start = intent.grid_charge_to_percent - GRID_CHARGE_BAND_PERCENT
            below = self.unit_soc_wh(min(start, 100.0 - GRID_CHARGE_BAND_PERCENT))
            for i, soc in enumerate(self.soc_wh):
                if soc < below and powers[i] == 0.0:
                    powers[i] = -cfg.unit_max_power_w * GRID_CHARGE_SHARE
        return powers

    def unit_soc_wh(self, percent: float) -> float:
        return self.config.unit_capacity_wh * percent / 100.0

    # -- state --------------------------------------------------------------------------

    def snapshot(self, *, detached: bool = True) -> Snapshot:
        """The plant now. `detached=False` shares the live counters and reports instead of
        copying them: for a reader that uses them at once and keeps nothing (the copies
        were a third of the time of generating a year of samples)."""
        t = self.time
        solar, load = self.solar_w(t), self.load_w(t)
        battery = tuple(self.battery_w(solar - load, t))
        return Snapshot(
            time=t,
            solar_w=solar,
            load_w=load,
            battery_w=battery,
            grid_w=load - solar - sum(battery),
            soc_wh=tuple(self.soc_wh),
            counters=copy.deepcopy(self.counters) if detached else self.counters,
            reports=tuple(copy.copy(r) for r in self.reports) if detached else tuple(self.reports),
        )

    def _integrate(self, t0: float, t1: float) -> None:
        """Advance the counters and the batteries over [t0, t1] (midpoint rule)."""
        hours = (t1 - t0) / 3600
        mid = (t0 + t1) / 2
        solar, load = self.solar_w(mid), self.load_w(mid)
        battery = self._move_battery(self.battery_w(solar - load, mid), hours)
        grid = load - solar - battery
        c = self.counters
        c.production_wh += solar * hours
        c.inverter_wh += solar * hours
        c.production_today_wh += solar * hours
        c.consumption_wh += load * hours
        c.consumption_today_wh += load * hours
        c.import_wh += max(0.0, grid) * hours
        c.export_wh += max(0.0, -grid) * hours
        c.battery_discharged_wh += max(0.0, battery) * hours
        c.battery_charged_wh += max(0.0, -battery) * hours

    def _move_battery(self, powers: list[float], hours: float) -> float:
        """Apply per-unit powers for ``hours`` within SOC bounds; the total power achieved."""
        if hours <= 0:
            return 0.0
        full = self.unit_soc_wh(100.0)
        reserve = self.unit_soc_wh(self.storage.reserve_soc_percent)
        total = 0.0
        for i, power in enumerate(powers):
            soc = self.soc_wh[i]
            wanted = soc - power * hours
            new = max(wanted, min(soc, reserve)) if power > 0 else min(wanted, max(soc, full))
            self.soc_wh[i] = new
            total += (soc - new) / hours
        return total

    def _roll_day(self) -> None:
        c = self.counters
        c.production_days.append(c.production_today_wh)
        c.consumption_days.append(c.consumption_today_wh)
        c.production_today_wh = 0.0
        c.consumption_today_wh = 0.0

    def _refresh_reports(self, t: float) -> None:
        """Record each inverter's latest five-minute report at or before ``t``."""
        for index, (inv, report) in enumerate(zip(self.inverters, self.reports, strict=True)):
            due = math.floor((t - inv.report_offset_s) / REPORT_PERIOD_S)
            date = int(due * REPORT_PERIOD_S + inv.report_offset_s)
            if date > report.date:
                report.date = date
                report.watts = round(self.inverter_w(index, date))
                report.max_watts = max(report.max_watts, report.watts)


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def _make_inverters(config: PlantConfig, rng: random.Random) -> tuple[Inverter, ...]:
    prefix = f"48{rng.randrange(10_000):04d}"
    return tuple(
        Inverter(
            serial=f"{prefix}{index:06d}",
            capacity_w=rng.uniform(250.0, 400.0),
            factor=rng.uniform(0.97, 1.03),
            phase=rng.uniform(0, 2 * math.pi),
            report_offset_s=rng.uniform(0, REPORT_PERIOD_S),
        )
        for index in range(config.inverters)
    )


def _battery_serials(config: PlantConfig, rng: random.Random) -> tuple[str, ...]:
    if not config.battery:
        return ()
    prefix = f"49{rng.randrange(10_000):04d}"
    return tuple(f"{prefix}{index:06d}" for index in range(config.battery_units))


def _initial_report(inv: Inverter, rng: random.Random) -> InverterReport:
    """No report yet, but a plausible best-ever report from the plant's past."""
    return InverterReport(max_watts=round(inv.capacity_w * rng.uniform(0.85, 0.97)))


def _initial_counters(plant: Plant, rng: random.Random) -> Counters:
    """Plausible lifetime totals for a plant a few years old, and a week of history."""
    kw = sum(inv.capacity_w for inv in plant.inverters) / 1000
    years = rng.uniform(2.0, 6.0)
    produced = kw * 1300 * 1000 * years
    consumed = 6000 * 1000 * years + produced * 0.3
    self_used = min(produced * 0.6, consumed * 0.5)
    counters = Counters(
        production_wh=produced,
        inverter_wh=produced * rng.uniform(0.9, 0.98),
        consumption_wh=consumed,
        import_wh=consumed - self_used,
        export_wh=produced - self_used,
    )
    for _ in range(7):
        counters.production_days.append(kw * 7.6 * 1000 * rng.uniform(0.55, 1.0))
        counters.consumption_days.append(16_000 * rng.uniform(0.8, 1.2))
    return counters

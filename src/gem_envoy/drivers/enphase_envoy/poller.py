"""One gateway's poll cycle: which endpoints to read this time, and what they mean.

The gateway is the scarce resource, so each endpoint group is read at its own useful rate.
Where an enabled production CT has readings, `/ivp/meters/readings` (native, a fraction of a
second) every cycle gives the power attributes (ct_readings.py), and `/production.json` (a
slow CGI) every 5 minutes and in the first cycle of each gateway-local day gives the
inverter figures and the anchors of the today/lifetime counters, which the CTs' own counters
move on in between (counter_advance.py). Where the readings cannot stand in (no production
CT, readings refused or unreadable, lacking a power attribute the report has, or an active
AC battery, whose figures only the report has), `/production.json` every cycle. Where
every production figure is a sum of the inverters' 5-minute reports (no CT),
`/api/v1/production` every cycle and `/production.json` at the inverters' pace, one request
a cycle (see
`_inverter_paced_readings`); battery power every cycle, its totals and its storage settings
(the tariff) every minute, only where an Encharge exists; `/ivp/meters/readings` every minute
where only a net or storage CT is enabled; the inverter list no more often than the gateway
refreshes it;
`/info`, the ensemble inventory and, on metered gateways, the CT list (`/ivp/meters`) at
connect and then rarely. Endpoints that a gateway lacks (404) or that the token may not read
(401/403 after a fresh session) are set aside instead of being asked again every cycle.

While a live feed keeps the power values current (`live`), the poll leaves them to it: it
reads the CTs' readings once a minute (for the energy counters), `/production.json` every
5 minutes where they stand in for it and once a minute elsewhere, and battery power not at
all. On multi-phase sites `/production.json` is read with
`?details=1`, whose per-phase lines are the per-phase attributes.

This module decides the production and CT reads; the battery reads are battery_reads.py's,
the inverter list zone_reads.py's, and the paces and set-aside groups they share reads.py's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from gem_envoy.drivers.enphase_envoy.battery_ct import (
    BATTERY_POWER_EVERY_S,
    battery_attributes,
    storage_ct_watts,
)
from gem_envoy.drivers.enphase_envoy.battery_reads import BatteryReads
from gem_envoy.drivers.enphase_envoy.counter_advance import host_day
from gem_envoy.drivers.enphase_envoy.ct_readings import (
    ct_readings,
    energy_counters,
    has_production_ct,
    with_readings,
)
from gem_envoy.drivers.enphase_envoy.ct_stand_in import CtStandIn
from gem_envoy.drivers.enphase_envoy.derive import (
    Attributes,
    Readings,
    device_attributes,
    energy_cts,
    has_encharge,
    v1_production_now,
)
from gem_envoy.drivers.enphase_envoy.phases import phase_count
from gem_envoy.drivers.enphase_envoy.reads import Due, GatewayReads, drawn_early_s
from gem_envoy.drivers.enphase_envoy.storage import StorageControl
from gem_envoy.drivers.enphase_envoy.zone_reads import ZoneReads
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.models import (
    GatewayInfo,
    MeterConfig,
    MeterReading,
    ProductionReport,
    V1Production,
)

# The gateway refreshes its inverter list about every 5 minutes; asking faster only costs it.
INVERTERS_EVERY_S = 300.0
# Static data (identity, which batteries exist) changes when an installer visits.
STATIC_EVERY_S = 3600.0
# Battery state of charge and stored energy (secctrl) change slowly.
BATTERY_TOTALS_EVERY_S = 60.0
# The energy counters while a live feed supplies the power: a minute's energy is what a
# chart of the day resolves, and the CGI behind /production.json is the gateway's slowest.
ENERGY_WHILE_LIVE_EVERY_S = 60.0
# Firmware whose /api/v1/production stalls on a metered gateway without CTs (spec section 1):
# its production is never paced by V1, /production.json stays every cycle.
STALLED_V1_FIRMWARE = ("D8.2.4264",)
# The CTs' lifetime counters (grid import/export, battery charge/discharge): a minute's energy
# is finer than any report of them, and they are read whether or not a live feed runs.
CT_ENERGY_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Schedule:
    inverters_every_s: float = INVERTERS_EVERY_S
    static_every_s: float = STATIC_EVERY_S
    battery_totals_every_s: float = BATTERY_TOTALS_EVERY_S
    energy_while_live_every_s: float = ENERGY_WHILE_LIVE_EVERY_S
    ct_energy_every_s: float = CT_ENERGY_EVERY_S
    battery_power_every_s: float = BATTERY_POWER_EVERY_S


@dataclass(frozen=True, slots=True)
class CycleResult:
    """What one cycle learned. `zones` is None when the inverter list was not due, and
    empty when it cannot be read (set aside)."""

    device: Attributes
    zones: dict[str, Attributes] | None
    notes: tuple[str, ...] = ()


class GatewayPoller:
    """Polls one gateway through an EnvoyClient; holds what it learned between cycles."""

    def __init__(
        self,
        client: EnvoyClient,
        *,
        zones: list[str] | None = None,
        all_zones: bool = False,
        schedule: Schedule | None = None,
        clock: Callable[[], float] = time.monotonic,
        storage: StorageControl | None = None,
        jitter: Callable[[], float] = random.random,
        today: Callable[[], date] = host_day,
    ) -> None:
        self.client = client
        self._jitter = jitter  # in [0, 1): where in FIRST_GAP the second report falls
        self.schedule = schedule = schedule or Schedule()
        self._clock = clock
        self._reads = GatewayReads(client)
        self.battery = BatteryReads(
            self._reads,
            storage or StorageControl(),
            totals_every_s=schedule.battery_totals_every_s,
            power_every_s=schedule.battery_power_every_s,
            clock=clock,
        )
        self.zones = ZoneReads(
            self._reads,
            every_s=schedule.inverters_every_s,
            zones=zones,
            all_zones=all_zones,
            jitter=jitter,
        )
        self.info: GatewayInfo | None = None
        self.v1: V1Production | None = None
        self.production: ProductionReport | None = None
        self.meters: tuple[MeterConfig, ...] | None = None  # None: not metered, or unknown
        self.meter_readings: tuple[MeterReading, ...] | None = None
        # The attributes a live feed keeps current (see live_feed), set before each cycle.
        self.live: frozenset[str] = frozenset()
        self._details: bool | None = None  # per-phase lines wanted; None = not known yet
        self._zones_wait = False  # the inverter list waits a cycle (see _inverter_paced_readings)
        self.today = today  # the gateway's local day: when its today counters start again
        self._cts = CtStandIn()

    def forget_capabilities(self) -> None:
        """After a token change: endpoints refused to the old token may work now, and what
        the old token could read the new one may not. Everything is read afresh next cycle;
        nothing read with the old token is derived from again."""
        self._reads.forget()
        self.v1 = self.production = None
        self.meters = self.meter_readings = None
        self._cts = CtStandIn()
        self.battery.forget()

    async def connect(self) -> GatewayInfo:
        """Read who the gateway is (refusing D5 firmware) and which batteries it has."""
        self.info = await self.client.info()
        self._due.mark("info", self._clock())
        self._details = None  # an installer may have rewired the site: look again
        self._cts.uncovered = False  # and whether the CTs' readings can stand in
        self._due.forget("meters")  # and its CTs too, at the next cycle
        await self.battery.read_inventory()
        return self.info

    async def cycle(self) -> CycleResult:
        """Read what is due, derive the attributes. Raises EnvoyError if the core read fails."""
        self._reads.new_cycle()
        now = self._clock()
        if self.info is None or self._due.due("info", self.schedule.static_every_s, now):
            await self.connect()
        self._cts.fresh_report = self._cts.fresh_readings = self._cts.skipped = False
        readings = await self._core_readings(now)
        await self._ct_energy(now)  # right after /production.json: the anchors' readings
        if self._cts.skipped and self._cts.serving is None:  # they could not stand in
            readings = replace(readings, production=await self._production(now, force=True))
        readings = await self.battery.readings(
            readings, power_live="battery_now_w" in self.live, storage_ct_w=self._storage_ct_w()
        )
        readings = replace(readings, meters=self.meters, meter_readings=self.meter_readings)
        zones = await self.zones.if_due(now, wait=self._zones_wait)
        device = self._power_between_reports(device_attributes(readings))
        if self.battery.ct_w is not None:
            device |= battery_attributes(self.battery.ct_w)
        device = self._with_ct_readings(device)
        device = device | self.battery.storage.attributes() | self.zones.serials()
        device = {name: value for name, value in device.items() if name not in self.live}
        return CycleResult(device, zones, tuple(self._reads.notes))

    def _storage_ct_w(self) -> float | None:
        """The storage CT's watts, where this cycle read the CTs' readings."""
        if not self._cts.fresh_readings:
            return None
        return storage_ct_watts(self.meters, self.meter_readings)

    @property
    def _due(self) -> Due:
        return self._reads.due  # replaced by a token change (`GatewayReads.forget`)

    @property
    def has_battery(self) -> bool:
        """An Encharge in the inventory, or an active ACB in the production report."""
        if has_encharge(self.battery.inventory):
            return True
        report = self.production
        return report is not None and any(
            e.type == "acb" and e.active_count > 0 for e in report.storage
        )

    @property
    def metered(self) -> bool:
        """Whether an active CT meters the site (what the live sources measure with)."""
        report = self.production
        return report is not None and any(
            e.type == "eim" and e.active_count > 0
            for e in (*report.production, *report.consumption)
        )

    async def _production(self, now: float, *, force: bool = False) -> ProductionReport:
        """`/production.json` when due (see `_report_due`); with `?details=1` until the
        first answer shows whether the site has several phases, and on a multi-phase site
        unless the CTs' readings serve (their channels are then the per-phase values, and
        the lines would only make the gateway's slow script slower)."""
        if self.production is not None and not force and not self._report_due(now):
            self._cts.skipped = self._cts.serving is not None
            return self.production
        lines_wanted = self._details is not False and self._cts.serving is None
        report = await self.client.production(details=lines_wanted)
        if self._details is None:
            self._details = phase_count(*_lines(report)) >= 2
        self.production = report
        self._due.mark("production", now)
        self._cts.read_report(report, self.today())
        return report

    def _report_due(self, now: float) -> bool:
        """Every 5 minutes, and in the first cycle of a gateway-local day, while the CTs'
        readings stand in for the report; once a minute while a live feed supplies the
        power; else every cycle."""
        if self._cts.serving is not None:
            every_s = self.schedule.inverters_every_s
            return self.today() != self._cts.report_day or self._due.due("production", every_s, now)
        if "production_now_w" in self.live:
            every_s = self.schedule.energy_while_live_every_s
            return self._due.due("production", every_s, now)
        return True

    def _with_ct_readings(self, device: Attributes) -> Attributes:
        """Power from the CTs' readings and the counters moved on by theirs, where they
        stand in for `/production.json`."""
        ct = self._cts.serving
        if ct is None:
            return device
        advanced = self._cts.advance.advanced(energy_counters(ct), self.today())
        return with_readings(device, self._cts.power, ct) | advanced

    def unknown_zone_addresses(self) -> list[str]:
        """The listed zone addresses the last inverter list does not have."""
        return self.zones.unknown_addresses()

    async def _core_readings(self, now: float) -> Readings:
        """`/production.json` and `/api/v1/production`, at the paces of the site's kind."""
        self._zones_wait = False
        if self._inverter_paced():
            return await self._inverter_paced_readings(now)
        production = await self._production(now)
        return Readings(production=production, v1=await self._v1_if_needed(production, now))

    def _inverter_paced(self) -> bool:
        """Whether every production figure of the site is summed from its inverters' reports,
        which each inverter sends every 5 minutes: no active CT and no AC battery in the last
        `/production.json`, `/api/v1/production` readable and trusted on this firmware."""
        info, report = self.info, self.production
        return (
            report is not None
            and info is not None
            and not self.metered
            and not self.has_battery
            and "v1" not in self._reads.set_aside
            and not info.firmware.startswith(STALLED_V1_FIRMWARE)
        )

    async def _inverter_paced_readings(self, now: float) -> Readings:
        """One request a cycle on an inverter-paced site (the first cycle reads everything):
        `/production.json` (inverter count, lifetime energy, the reports' time) at the
        inverters' 5-minute pace, then the inverter list a cycle later when it is due too,
        and in every other cycle `/api/v1/production` (power now and today's energy, the same
        sums of the inverters' reports; at the inverters' pace too while a live feed has the
        power). A value read in a cycle that reads something else is at most a cycle old."""
        if self._due.due("production", self.schedule.inverters_every_s, now):
            self._zones_wait = True
            return Readings(production=await self._production(now), v1=self.v1)
        zones_due = self.zones.due(now)
        live = "production_now_w" in self.live
        v1_every_s = self.schedule.inverters_every_s if live else 0.0
        if not zones_due and self._due.due("v1", v1_every_s, now):
            await self._read_v1(now)
        return Readings(production=self.production, v1=self.v1)

    def _power_between_reports(self, device: Attributes) -> Attributes:
        """Between two `/production.json` reads of an inverter-paced site, power now comes
        from the later `/api/v1/production` (`wattsNow`: the contract's V1 source, the same
        sum of the inverters' last reports as INV `wNow`), and `last_report_time`, which only
        INV carries, is left as the last report gave it."""
        v1_at = self._due.last.get("v1")
        report_at = self._due.last.get("production")
        if self.v1 is None or v1_at is None or report_at is None or v1_at <= report_at:
            return device
        if not self._inverter_paced():
            return device
        paced = {k: v for k, v in device.items() if k != "last_report_time"}
        return paced | {"production_now_w": v1_production_now(self.v1)}

    async def _v1_if_needed(self, report: ProductionReport, now: float) -> V1Production | None:
        """`/api/v1/production`, only where no production CT gives today's energy, and at
        the pace of the inverter reports it is summed from (the last reading in between)."""
        metered = any(
            e.type == "eim" and e.measurement_type in ("production", None) and e.active_count > 0
            for e in report.production
        )
        if metered:
            return None
        if self._due.due("v1", self.schedule.inverters_every_s, now):
            await self._read_v1(now)
        return self.v1

    async def _read_v1(self, now: float) -> None:
        fresh = await self._reads.optional("v1", self.client.v1_production)
        self.v1 = fresh  # None once set aside: its values are no longer current
        if fresh is not None:
            self._due.mark("v1", now)

    async def _ct_energy(self, now: float) -> None:
        """The CTs' readings: which CTs exist from `/ivp/meters` (hourly, and only on a
        gateway with a metering board or an active CT), then `/ivp/meters/readings` every
        cycle where an enabled production CT gives the power (once a minute while a live
        feed does), in every cycle that read `/production.json` (its anchors' readings), and
        else once a minute where a net or storage CT is enabled; nothing is asked elsewhere."""
        await self._meters_if_due(now)
        production_ct = has_production_ct(self.meters)
        if not energy_cts(self.meters) and not production_ct:
            self.meter_readings = self._cts.serving = None
            return
        every_s = self.schedule.ct_energy_every_s
        power_due = self._cts.fresh_report or "production_now_w" not in self.live
        if production_ct and self._cts.may_stand_in and power_due:
            every_s = 0.0
        if self._due.due("meter_readings", every_s, now):
            self._due.mark("meter_readings", now)
            readings = await self._reads.noted("meter_readings", self.client.meter_readings)
            if readings is not None or "meter_readings" in self._reads.set_aside:
                self.meter_readings = readings  # None once set aside: no longer current
            self._cts.fresh_readings = readings is not None
            self._cts.readings_failed = readings is None
        self._stand_in(now)

    def _stand_in(self, now: float) -> None:
        """Whether the readings stand in for the report this cycle, and the anchors."""
        was_serving = self._cts.serving is not None
        live = "production_now_w" in self.live
        self._cts.decide(ct_readings(self.meters, self.meter_readings), live)
        if self._cts.serving is not None and not was_serving and self._cts.report_day:
            # Gateways started together would otherwise read their reports in the same
            # cycles: the next one comes at a drawn point of the second half of its period.
            early_s = drawn_early_s(self.schedule.inverters_every_s, self._jitter())
            self._due.mark("production", self._due.last.get("production", now), early_s=early_s)

    async def _meters_if_due(self, now: float) -> None:
        metered = self.metered or (self.info is not None and self.info.metered)
        if not metered:
            self.meters = None
            return
        # Hourly once known; while an answer could not be read, again a minute later.
        known = self.meters is not None or "meters" in self._reads.set_aside
        every_s = self.schedule.static_every_s if known else self.schedule.ct_energy_every_s
        if not self._due.due("meters", every_s, now):
            return
        self._due.mark("meters", now)
        meters = await self._reads.noted("meters", self.client.meters)
        if meters is not None or "meters" in self._reads.set_aside:
            self.meters = meters

    def set_zones(self, addresses: list[str]) -> None:
        """New zone addresses, reported at the next cycle (see `ZoneReads.set_addresses`)."""
        self.zones.set_addresses(addresses)


def _lines(report: ProductionReport) -> list[tuple[float, ...]]:
    return [e.lines_w for e in (*report.production, *report.consumption) if e.type == "eim"]

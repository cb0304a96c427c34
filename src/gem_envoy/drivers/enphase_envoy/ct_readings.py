"""Power and energy counters from the CTs' own readings (`/ivp/meters/readings`).

On a metered plant these readings measure what `/production.json` reports for its `eim`
entries (the same CTs), but they are served natively in a fraction of a second where the
CGI behind `/production.json` takes seconds. So on such a plant the power attributes come
from here every cycle, by the rules of driver-semantics.md section 2 applied to the CTs:
the production CT for production; the total-consumption CT for consumption, or net +
production when it is missing or repeats the net CT (the D8.3 defect); net power = minus the
net CT (positive = export). A reading is joined to its CT by `eid` through `/ivp/meters`,
and only enabled CTs count.

Signs, from the shared captures that hold both files: `activePower` has the sign of the
matching `wNow` (the net CT positive while importing), and a CT's `actEnergyDlvd` grows with
what `whLifetime` counts (the production CT's what the panels delivered, the net CT's what
came from the grid; `actEnergyRcvd` is the other way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gem_envoy.drivers.enphase_envoy.phases import PHASES, phase_attributes
from gem_envoy.drivers.enphase_envoy.values import Attributes, whole
from gem_envoy.envoy.models import MeterConfig, MeterReading

PRODUCTION = "production"
TOTAL = "total-consumption"
NET = "net-consumption"
# Where the power attributes come from on a plant whose readings serve: these names (and
# their per-phase `_l1.._l3`) are replaced by the readings' values.
POWER_ATTRIBUTES = ("production_now_w", "consumption_now_w", "net_power_w")


@dataclass(frozen=True, slots=True)
class CtReadings:
    """The readings of the enabled CTs the rules name, each None where there is none."""

    production: MeterReading | None
    total: MeterReading | None
    net: MeterReading | None

    @property
    def consumption_from_total(self) -> bool:
        """Whether consumption is the total CT itself (not net + production)."""
        total, net = self.total, self.net
        if total is None:
            return False
        repeats = net is not None and (total.active_power, total.energy_delivered_wh) == (
            net.active_power,
            net.energy_delivered_wh,
        )
        return not repeats


def ct_readings(
    meters: tuple[MeterConfig, ...] | None, readings: tuple[MeterReading, ...] | None
) -> CtReadings | None:
    """The CT readings by role; None where no enabled production CT has a reading (the
    readings cannot then stand in for `/production.json`)."""
    by_eid = {reading.eid: reading for reading in readings or ()}
    found: dict[str, MeterReading] = {}
    for meter in meters or ():
        reading = by_eid.get(meter.eid)
        if meter.state == "enabled" and reading is not None:
            found.setdefault(meter.measurement_type, reading)
    if PRODUCTION not in found:
        return None
    return CtReadings(found[PRODUCTION], found.get(TOTAL), found.get(NET))


def _consumption(ct: CtReadings, value: Callable[[MeterReading], float]) -> float | None:
    if ct.consumption_from_total and ct.total is not None:
        return value(ct.total)
    if ct.net is not None and ct.production is not None:
        return value(ct.net) + value(ct.production)  # grid in + panels = the home's load
    return None


def power_attributes(ct: CtReadings) -> Attributes:
    """production_now_w, consumption_now_w, net_power_w and their phases, and
    `last_report_time` from the production CT's reading."""
    attrs: Attributes = {}
    power = _power_values(ct, lambda r: r.active_power)
    for name, watts in zip(POWER_ATTRIBUTES, power, strict=True):
        if watts is not None:
            attrs[name] = whole(watts)
    attrs.update(_phases(ct))
    return attrs


def _power_values(
    ct: CtReadings, value: Callable[[MeterReading], float]
) -> tuple[float | None, float | None, float | None]:
    production = value(ct.production) if ct.production is not None else None
    net_export = None
    if ct.net is not None:
        net_export = -value(ct.net)
    elif ct.total is not None and production is not None:
        net_export = production - value(ct.total)
    return production, _consumption(ct, value), net_export


def _phases(ct: CtReadings) -> Attributes:
    def channel(reading: MeterReading | None) -> tuple[float, ...]:
        return tuple(c.active_power for c in reading.channels) if reading is not None else ()

    production, net = channel(ct.production), channel(ct.net)
    consumption: tuple[float, ...] = ()
    if ct.consumption_from_total:
        consumption = channel(ct.total)
    elif net and len(net) == len(production):
        consumption = tuple(a + b for a, b in zip(net, production, strict=True))
    return phase_attributes(production, consumption, tuple(-w for w in net))


def energy_counters(ct: CtReadings) -> dict[str, float]:
    """The CTs' energy counters (Wh) that move as production's and consumption's
    today/lifetime counters do: the production CT's delivered energy (the captures'
    production `whLifetime` equals it within the seconds between the reads, its received
    energy, the panels' night-time draw, is not in it); the total CT's delivered energy, or
    the net CT's balance (import - export) plus the production CT's (signed, as consumption
    power adds the production CT's signed power)."""
    counters: dict[str, float] = {}
    production = ct.production
    if production is not None:
        counters["production"] = production.energy_delivered_wh
    if ct.consumption_from_total and ct.total is not None:
        counters["consumption"] = ct.total.energy_delivered_wh
    elif ct.net is not None and production is not None:
        counters["consumption"] = _balance(ct.net) + _balance(production)
    return counters


def _balance(reading: MeterReading) -> float:
    return reading.energy_delivered_wh - reading.energy_received_wh


_POWER_NAMES = frozenset(
    (*POWER_ATTRIBUTES, *(f"{name}_{phase}" for name in POWER_ATTRIBUTES for phase in PHASES))
)


def _is_power(name: str) -> bool:
    return name in _POWER_NAMES


def covers(power: Attributes, report: Attributes) -> bool:
    """Whether the readings' `power` (see power_attributes) has every power attribute the
    report gives: only then may they stand in for it between its reads (else a value
    would go stale)."""
    return all(name in power for name in report if _is_power(name))


def with_readings(report: Attributes, power: Attributes, ct: CtReadings) -> Attributes:
    """The report's attributes with power and per phase (`power`, from `ct`), and
    `last_report_time` (the time of the reading that gave production_now_w) taken from the
    readings instead."""
    kept = {k: v for k, v in report.items() if not _is_power(k) and k != "last_report_time"}
    attrs = kept | power
    if ct.production is not None and ct.production.timestamp > 0:
        stamp = datetime.fromtimestamp(ct.production.timestamp, tz=UTC)
        attrs["last_report_time"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return attrs


def has_production_ct(meters: tuple[MeterConfig, ...] | None) -> bool:
    """Whether `/ivp/meters` enables a production CT: its readings may give the power."""
    return any(m.state == "enabled" and m.measurement_type == PRODUCTION for m in meters or ())

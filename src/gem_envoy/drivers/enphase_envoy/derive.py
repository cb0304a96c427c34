"""Gateway payloads -> GEM attributes: the contract of driver-semantics.md, section 2.

Pure functions, no I/O. An attribute whose source is missing on this gateway is left out of
the result (never zero, never None), so a caller can merge results without erasing anything.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from gem_envoy.drivers.enphase_envoy.phases import phase_attributes
from gem_envoy.drivers.enphase_envoy.values import Attributes as Attributes
from gem_envoy.drivers.enphase_envoy.values import AttributeValue as AttributeValue
from gem_envoy.drivers.enphase_envoy.values import whole
from gem_envoy.envoy.models import (
    BatteryPower,
    EnsembleInventory,
    Inverter,
    MeterConfig,
    MeterReading,
    ProductionEntry,
    ProductionReport,
    SecCtrl,
    Tariff,
    V1Production,
)
from gem_envoy.envoy.token import TokenClaims

# Below this many watts either way a battery is reported idle: its meters idle at a few watts.
BATTERY_DEADBAND_W = 50.0
MICROINVERTER = 1


@dataclass(frozen=True, slots=True)
class Readings:
    """What one poll cycle read. None means "not read" (absent on this gateway, or not due)."""

    production: ProductionReport | None = None
    v1: V1Production | None = None
    inventory: EnsembleInventory | None = None
    battery_power: tuple[BatteryPower, ...] | None = None
    secctrl: SecCtrl | None = None
    meters: tuple[MeterConfig, ...] | None = None  # /ivp/meters: which CT each eid is
    meter_readings: tuple[MeterReading, ...] | None = None  # /ivp/meters/readings


@dataclass(frozen=True, slots=True)
class _Meters:
    """The production.json entries the rules name."""

    eim: ProductionEntry | None
    inv: ProductionEntry | None
    total: ProductionEntry | None
    net: ProductionEntry | None
    acb: ProductionEntry | None


def _active(entry: ProductionEntry) -> bool:
    return entry.active_count > 0


def _meters(report: ProductionReport | None) -> _Meters:
    if report is None:
        return _Meters(None, None, None, None, None)

    def first(
        entries: tuple[ProductionEntry, ...], kind: str, *measured: str | None
    ) -> ProductionEntry | None:
        for entry in entries:
            if entry.type == kind and entry.measurement_type in measured and _active(entry):
                return entry
        return None

    inv = next((e for e in report.production if e.type == "inverters"), None)
    return _Meters(
        eim=first(report.production, "eim", "production", None),
        inv=inv,
        total=first(report.consumption, "eim", "total-consumption"),
        net=first(report.consumption, "eim", "net-consumption"),
        acb=next((e for e in report.storage if e.type == "acb" and _active(e)), None),
    )


def _put(attrs: Attributes, name: str, value: float | None) -> None:
    if value is not None:
        attrs[name] = whole(value)


@functools.lru_cache(maxsize=64)  # a report's time repeats until the next report
def _iso(epoch_s: int | None) -> str | None:
    if epoch_s is None or epoch_s <= 0:
        return None
    try:
        moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now_source(m: _Meters, v1: V1Production | None) -> tuple[float, int | None] | None:
    """Watts now and the reading time of the entry that gave them: EIM, else INV, else V1."""
    for entry in (m.eim, m.inv):
        if entry is not None and entry.w_now is not None:
            return entry.w_now, entry.reading_time
    return (v1.watts_now, None) if v1 is not None else None


def v1_production_now(v1: V1Production) -> int:
    """`production_now_w` from `/api/v1/production` alone, as `device_attributes` gives it
    from readings holding nothing else."""
    return whole(v1.watts_now)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _production(m: _Meters, v1: V1Production | None) -> Attributes:
    attrs: Attributes = {}
    now = _now_source(m, v1)
    if now is not None:
        _put(attrs, "production_now_w", now[0])
        stamp = _iso(now[1])
        if stamp:
            attrs["last_report_time"] = stamp
    _put(
        attrs,
        "production_today_wh",
        _first(m.eim.wh_today if m.eim else None, v1.wh_today if v1 else None),
    )
    _put(
        attrs,
        "production_lifetime_wh",
        _first(
            m.eim.wh_lifetime if m.eim else None,
            m.inv.wh_lifetime if m.inv else None,
            v1.wh_lifetime if v1 else None,
        ),
    )
    if m.inv is not None:
        attrs["inverter_count"] = m.inv.active_count
    return attrs


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _repeats_net(total: ProductionEntry, net: ProductionEntry | None) -> bool:
    """The D8.3 defect: total-consumption is a verbatim copy of net-consumption."""
    return net is not None and (total.w_now, total.wh_lifetime) == (net.w_now, net.wh_lifetime)


def _consumption(m: _Meters) -> Attributes:
    attrs: Attributes = {}
    if m.total is not None and not _repeats_net(m.total, m.net):
        _put(attrs, "consumption_now_w", m.total.w_now)
        _put(attrs, "consumption_today_wh", m.total.wh_today)
        _put(attrs, "consumption_lifetime_wh", m.total.wh_lifetime)
    elif m.net is not None and m.eim is not None:
        # Load = what the grid brought in (net) + what the panels made (production).
        _put(attrs, "consumption_now_w", _sum(m.net.w_now, m.eim.w_now))
        _put(attrs, "consumption_today_wh", _sum(m.net.wh_today, m.eim.wh_today))
        _put(attrs, "consumption_lifetime_wh", _sum(m.net.wh_lifetime, m.eim.wh_lifetime))
    if m.net is not None:
        _put(attrs, "net_power_w", None if m.net.w_now is None else -m.net.w_now)
    elif m.eim is not None and m.total is not None:
        # Without a net CT: export = production - consumption.
        _put(attrs, "net_power_w", _difference(m.eim.w_now, m.total.w_now))
    return attrs


def _phases(m: _Meters) -> Attributes:
    """Per-phase power from the CT entries' `lines` (only sent with `?details=1`), by the
    same rules as the totals: consumption from net + production on the D8.3 defect."""
    production = m.eim.lines_w if m.eim else ()
    consumption: tuple[float, ...] = ()
    if m.total is not None and not _repeats_net(m.total, m.net):
        consumption = m.total.lines_w
    elif m.net is not None and m.eim is not None and len(m.net.lines_w) == len(m.eim.lines_w):
        consumption = tuple(a + b for a, b in zip(m.net.lines_w, m.eim.lines_w, strict=True))
    net_export = tuple(-w for w in m.net.lines_w) if m.net else ()
    return phase_attributes(production, consumption, net_export)


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def battery_state(watts: float) -> str:
    """charging, discharging or idle, from the battery's power (positive = discharging)."""
    if watts > BATTERY_DEADBAND_W:
        return "discharging"
    if watts < -BATTERY_DEADBAND_W:
        return "charging"
    return "idle"


def _weighted_soc(inventory: EnsembleInventory) -> float | None:
    units = [
        (d.percent_full, d.capacity_wh or 0.0)
        for d in inventory.encharges
        if d.percent_full is not None
    ]
    weight = sum(capacity for _, capacity in units)
    if not units:
        return None
    if weight <= 0:
        return sum(soc for soc, _ in units) / len(units)
    return sum(soc * capacity for soc, capacity in units) / weight


def _encharge(r: Readings) -> Attributes:
    attrs: Attributes = {}
    if r.battery_power is not None:
        watts = sum(unit.real_power_mw for unit in r.battery_power) / 1000.0
        _put(attrs, "battery_now_w", watts)
        attrs["battery_state"] = battery_state(watts)
    soc = r.secctrl.enc_agg_soc if r.secctrl else None
    if soc is None and r.inventory is not None:
        soc = _weighted_soc(r.inventory)
    if soc is not None:
        attrs["battery_soc_percent"] = float(soc)
    if r.secctrl is not None:
        _put(attrs, "battery_capacity_wh", r.secctrl.enc_agg_avail_energy_wh)
    return attrs


def _acb(acb: ProductionEntry) -> Attributes:
    attrs: Attributes = {}
    _put(attrs, "battery_now_w", acb.w_now)
    if acb.percent_full is not None:
        attrs["battery_soc_percent"] = float(acb.percent_full)
    _put(attrs, "battery_capacity_wh", acb.wh_now)
    if acb.state:
        attrs["battery_state"] = acb.state
    return attrs


# /ivp/meters/readings counts each CT's energy in its two directions. `actEnergyDlvd` is what
# flowed the way the CT delivers to the home: from the grid for the net-consumption CT
# (import), out of the battery for the storage CT (discharge); `actEnergyRcvd` is the other
# way (export, charge). Why, from the shared captures: on every capture whose net CT is both
# enabled in /ivp/meters and active in production.json, its activePower has the sign of the
# net-consumption `wNow` (positive = importing) and dlvd - rcvd is that entry's `whLifetime`
# (import - export) within 0.5 %;
# 8.2.4345's negative net whLifetime is its rcvd exceeding its dlvd. On
# 8.2.127_with_3cts_and_battery_split the storage CT's activePower is negative while every
# Encharge in /ivp/ensemble/power charges, and on both captures with a storage CT rcvd
# exceeds dlvd by about a third: a battery gives back less than it took in.
GRID_CT = "net-consumption"
STORAGE_CT = "storage"
# Per CT: the attribute of its delivered energy, then that of its received energy.
CT_ENERGY = {
    GRID_CT: ("grid_import_lifetime_wh", "grid_export_lifetime_wh"),
    STORAGE_CT: ("battery_discharged_lifetime_wh", "battery_charged_lifetime_wh"),
}


def energy_cts(meters: tuple[MeterConfig, ...] | None) -> tuple[MeterConfig, ...]:
    """The enabled CTs whose two directions are energy attributes (net and storage); a
    disabled CT reads zeros or stale counters. The production CT's energy is
    production_lifetime_wh already."""
    return tuple(
        m for m in meters or () if m.state == "enabled" and m.measurement_type in CT_ENERGY
    )


def _ct_energy(r: Readings) -> Attributes:
    """Grid import/export and battery charge/discharge, lifetime, from the CTs' counters;
    absent without an enabled net or storage CT. Readings are joined to their CT by eid: a
    reading whose eid /ivp/meters does not list (8.3.5169 sends one of zeros) is no CT."""
    by_eid = {reading.eid: reading for reading in r.meter_readings or ()}
    attrs: Attributes = {}
    for meter in energy_cts(r.meters):
        reading = by_eid.get(meter.eid)
        if reading is None:
            continue
        delivered, received = CT_ENERGY[meter.measurement_type]
        _put(attrs, delivered, reading.energy_delivered_wh)
        _put(attrs, received, reading.energy_received_wh)
    return attrs


def has_encharge(inventory: EnsembleInventory | None) -> bool:
    return inventory is not None and bool(inventory.encharges)


def storage_attributes(tariff: Tariff | None) -> Attributes:
    """`storage_mode`, `battery_reserve_soc_percent` and `charge_from_grid`, from the
    tariff's storage settings (what the gateway holds; absent where it has none). Only
    meaningful with an Encharge: the caller decides that."""
    settings = tariff.storage if tariff is not None else None
    if settings is None:
        return {}
    attrs: Attributes = {}
    if settings.mode is not None:
        attrs["storage_mode"] = settings.mode
    if settings.reserved_soc is not None:
        attrs["battery_reserve_soc_percent"] = float(settings.reserved_soc)
    if settings.charge_from_grid is not None:
        attrs["charge_from_grid"] = settings.charge_from_grid
    return attrs


def device_attributes(readings: Readings) -> Attributes:
    """Every runtime device attribute the readings support, by the section 2 rules."""
    m = _meters(readings.production)
    attrs = _production(m, readings.v1)
    attrs.update(_consumption(m))
    attrs.update(_phases(m))
    if has_encharge(readings.inventory):
        attrs.update(_encharge(readings))
    elif m.acb is not None:
        attrs.update(_acb(m.acb))
    attrs.update(_ct_energy(readings))
    return attrs


def microinverters(inverters: tuple[Inverter, ...]) -> tuple[Inverter, ...]:
    """The list entries that are microinverters (the list also carries batteries)."""
    return tuple(inv for inv in inverters if inv.dev_type == MICROINVERTER)


def zone_attributes(inverter: Inverter) -> Attributes:
    attrs: Attributes = {
        "last_w": inverter.last_report_watts,
        "max_w": inverter.max_report_watts,
        # The product table types `state` as a string mirroring last_w, for widgets.
        "state": str(inverter.last_report_watts),
    }
    # When the inverter itself last reported: last_w is that report's, up to 5 minutes old
    # (more when the inverter stopped reporting), whatever the poll that carried it.
    stamp = _iso(inverter.last_report_date)
    if stamp:
        attrs["last_report_time"] = stamp
    return attrs


def zones_attributes(
    inverters: tuple[Inverter, ...], addresses: list[str] | None
) -> dict[str, Attributes]:
    """Zone attributes by serial: every microinverter when `addresses` is None, else only
    the listed serials that the gateway reports."""
    by_serial = {inv.serial: inv for inv in microinverters(inverters)}
    wanted = list(by_serial) if addresses is None else addresses
    return {s: zone_attributes(by_serial[s]) for s in wanted if s in by_serial}


def unknown_serials(inverters: tuple[Inverter, ...], addresses: list[str]) -> list[str]:
    """The zone addresses that no microinverter of the list has."""
    known = {inv.serial for inv in microinverters(inverters)}
    return [a for a in addresses if a not in known]


def not_listed(serial: str) -> str:
    """The zone's `last_error` when its serial is not in the gateway's inverter list."""
    return f"inverter {serial} is not in the gateway's inverter list"


def token_attributes(claims: TokenClaims) -> Attributes:
    """`token_type` and `token_expires_at`, from the token's own claims."""
    attrs: Attributes = {}
    if claims.user_type:
        attrs["token_type"] = claims.user_type
    if claims.expires_at is not None:
        attrs["token_expires_at"] = claims.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return attrs

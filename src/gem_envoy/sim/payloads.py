"""Plant state -> the gateway's payloads, shaped like the real ones (see the captures).

Every function takes the `Plant` (for its fixed configuration) and one `Snapshot`, so all the
payloads built from the same snapshot agree with one another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from .phases import (
    LOAD_SHARES,
    PHASE_MODES,
    MilliWatts,
    PhasePowers,
    equal_shares,
    total_w,
    watts,
)
from .plant import Plant, Snapshot

PRODUCTION_EID = 704643328
NET_EID = 704643584
TOTAL_EID = 704643840
STORAGE_EID = 704644096
_CHANNEL_EIDS = {
    PRODUCTION_EID: (1778385169, 1778385170, 1778385171),
    NET_EID: (1778385425, 1778385426, 1778385427),
    TOTAL_EID: (1778385681, 1778385682, 1778385683),
    STORAGE_EID: (1778385937, 1778385938, 1778385939),
}
_PV_PF = 0.99
_LOAD_PF = 0.92

Json = dict[str, Any]
_ACB_ENTRY: Json = {
    "type": "acb",
    "activeCount": 0,
    "readingTime": 0,
    "wNow": 0,
    "whNow": 0,
    "state": "idle",
}


def _r3(value: float) -> float:
    return round(value, 3)


def volts(t: float) -> float:
    """Split-phase line-to-line voltage, wandering slowly around 240 V."""
    return 240.0 + 1.5 * math.sin(2 * math.pi * t / 3600)


def phase_volts(t: float, phases: int) -> float:
    """One phase's RMS voltage: a leg of 240 V split phase (120 V), else 230 V.

    An aggregate shows ``phases`` times this (the sum of its phases, as 3-phase gateways do).
    """
    if phases == 2:
        return volts(t) / 2
    return 230.0 + 1.5 * math.sin(2 * math.pi * t / 3600)


def frequency(phases: int) -> float:
    """60 Hz where split phase is used (North America), 50 Hz elsewhere."""
    return 50.0 if phases in (1, 3) else 60.0


# -- /info --------------------------------------------------------------------------------


def info_xml(serial: str, firmware: str, t: float, imeter: bool = True) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<envoy_info>\n"
        f"  <time>{int(t)}</time>\n"
        "  <device>\n"
        f"    <sn>{escape(serial)}</sn>\n"
        "    <pn>800-00654-r08</pn>\n"
        f"    <software>{escape(firmware)}</software>\n"
        "    <euaid>4c8675</euaid>\n"
        "    <seqnum>0</seqnum>\n"
        "    <apiver>1</apiver>\n"
        f"    <imeter>{'true' if imeter else 'false'}</imeter>\n"
        "  </device>\n"
        "  <web-tokens>true</web-tokens>\n"
        "</envoy_info>\n"
    ).encode()


# -- /production.json ---------------------------------------------------------------------


def _eim_values(w: float, pf: float, v: float) -> Json:
    apparent = abs(w) / pf if w else 0.0
    reactive = math.sqrt(max(0.0, apparent**2 - w**2))
    return {
        "wNow": _r3(w),
        "rmsCurrent": _r3(apparent / v),
        "rmsVoltage": _r3(v),
        "reactPwr": _r3(reactive),
        "apprntPwr": _r3(apparent),
        "pwrFactor": round(math.copysign(pf, w) if w else 0.0, 2),
    }


def _eim_energy(lifetime: float, today: float, seven_days: float) -> Json:
    return {
        "whLifetime": _r3(lifetime),
        "varhLeadLifetime": _r3(lifetime * 0.02),
        "varhLagLifetime": _r3(lifetime * 0.25),
        "vahLifetime": _r3(lifetime * 1.1),
        "whToday": _r3(today),
        "whLastSevenDays": _r3(seven_days),
        "vahToday": _r3(today * 1.1),
        "varhLeadToday": _r3(today * 0.02),
        "varhLagToday": _r3(today * 0.25),
    }


@dataclass(frozen=True)
class _Channel:
    """One CT's power per phase (mW), its power factor, and its energy with the phases'
    shares of it."""

    kind: str
    parts: MilliWatts
    pf: float
    energy: Json
    shares: tuple[float, ...]


def _eim(channel: _Channel, active: bool, t: float, phases: int, details: bool) -> Json:
    """The aggregate is the sum of the lines (exactly, to the milliwatt)."""
    v = phase_volts(t, phases)
    entry: Json = {"type": "eim", "activeCount": 1 if active else 0}
    entry["measurementType"] = channel.kind
    entry["readingTime"] = int(t)
    entry.update(_eim_values(total_w(channel.parts), channel.pf, v * phases))
    entry.update(channel.energy)
    if details:
        entry["lines"] = [
            _eim_values(watts(channel.parts[i]), channel.pf, v)
            | {key: _r3(value * share) for key, value in channel.energy.items()}
            for i, share in enumerate(channel.shares)
        ]
    return entry


def _inverters_entry(plant: Plant, snap: Snapshot) -> Json:
    return {
        "type": "inverters",
        "activeCount": len(plant.inverters),
        "readingTime": max((r.date for r in snap.reports), default=0),
        "wNow": snap.inverters_w,
        "whLifetime": round(snap.counters.inverter_wh),
    }


def _net_power_factor(grid_w: float, consumption_w: float) -> float:
    return max(abs(grid_w) / max(abs(grid_w), consumption_w, 1.0), 0.05)


def ct_powers(plant: Plant, snap: Snapshot) -> PhasePowers:
    """What the CTs measure per phase: nothing at all without CTs."""
    phases = plant.config.phases
    return PhasePowers.of(snap, phases) if plant.config.cts else PhasePowers.zero(phases)


def production_json(plant: Plant, snap: Snapshot, details: bool = False) -> Json:
    """Without CTs the eim entries are inactive (activeCount 0) and frozen, as on real ones.
    With ``details`` each eim entry has one line per phase."""
    cts, phases = plant.config.cts, plant.config.phases
    c = snap.counters if cts else plant.initial_counters
    powers = ct_powers(plant, snap)
    equal, load_shares = equal_shares(phases), LOAD_SHARES[phases]
    prod = _eim_energy(c.production_wh, c.production_today_wh, c.production_seven_days_wh)
    cons = _eim_energy(c.consumption_wh, c.consumption_today_wh, c.consumption_seven_days_wh)
    net = _eim_energy(c.import_wh - c.export_wh, 0.0, 0.0)
    net_pf = _net_power_factor(total_w(powers.grid), total_w(powers.load))
    channels = (
        _Channel("production", powers.pv, _PV_PF, prod, equal),
        _Channel("total-consumption", powers.load, _LOAD_PF, cons, load_shares),
        _Channel("net-consumption", powers.grid, net_pf, net, equal),
    )
    pv, total, net_entry = (_eim(ch, cts, snap.time, phases, details) for ch in channels)
    return {
        "production": [_inverters_entry(plant, snap), pv],
        "consumption": [total, net_entry],
        "storage": [_ACB_ENTRY],
    }


# -- /api/v1/production, /api/v1/production/inverters -------------------------------------


def api_v1_production(snap: Snapshot) -> Json:
    c = snap.counters
    return {
        "wattHoursToday": round(c.production_today_wh),
        "wattHoursSevenDays": round(c.production_seven_days_wh),
        "wattHoursLifetime": round(c.inverter_wh),
        "wattsNow": snap.inverters_w,
    }


def inverters_json(plant: Plant, snap: Snapshot) -> list[Json]:
    return [
        {
            "serialNumber": inv.serial,
            "lastReportDate": report.date,
            "devType": 1,
            "lastReportWatts": report.watts,
            "maxReportWatts": report.max_watts,
        }
        for inv, report in zip(plant.inverters, snap.reports, strict=True)
    ]


# -- /ivp/meters, /ivp/meters/readings ------------------------------------------------------


def _ct_kinds(plant: Plant) -> tuple[tuple[int, str], ...]:
    """The CTs: production and net; with a battery also one measuring the home's load, and
    (unless configured without) one on the battery's circuit. Without a battery the home's
    load is production + net, as a gateway computes its total-consumption from those two;
    with one it is not (the battery's flow is neither), so the load that production.json's
    total-consumption reports needs a CT of its own for the readings to agree with it."""
    kinds: tuple[tuple[int, str], ...] = (
        (PRODUCTION_EID, "production"),
        (NET_EID, "net-consumption"),
    )
    if not plant.config.battery:
        return kinds
    kinds = (*kinds, (TOTAL_EID, "total-consumption"))
    return (*kinds, (STORAGE_EID, "storage")) if plant.config.storage_ct else kinds


def meters_json(plant: Plant) -> list[Json]:
    state = "enabled" if plant.config.cts else "disabled"
    phases = plant.config.phases
    return [
        {
            "eid": eid,
            "state": state,
            "measurementType": kind,
            "phaseMode": PHASE_MODES[phases],
            "phaseCount": phases,
            "meteringStatus": "normal",
            "statusFlags": [],
        }
        for eid, kind in _ct_kinds(plant)
    ]


def _reading(
    eid: int, t: float, w: float, energy: tuple[float, float], v: float, pf: float, f: float
) -> Json:
    dlvd, rcvd = energy
    apparent = abs(w) / pf if w else 0.0
    reactive = math.sqrt(max(0.0, apparent**2 - w**2))
    return {
        "eid": eid,
        "timestamp": int(t),
        "actEnergyDlvd": _r3(dlvd),
        "actEnergyRcvd": _r3(rcvd),
        "apparentEnergy": _r3((dlvd + rcvd) * 1.1),
        "reactEnergyLagg": _r3(dlvd * 0.25),
        "reactEnergyLead": _r3(rcvd * 0.02),
        "instantaneousDemand": _r3(w),
        "activePower": _r3(w),
        "apparentPower": _r3(apparent),
        "reactivePower": _r3(reactive),
        "pwrFactor": round(math.copysign(pf, w) if w else 0.0, 3),
        "voltage": _r3(v),
        "current": _r3(apparent / v),
        "freq": f,
    }


def _meter(
    eid: int, t: float, parts: MilliWatts, dlvd: float, rcvd: float, pf: float, phases: int
) -> Json:
    """The meter's aggregate is the sum of its channels, one channel per phase."""
    v, f = phase_volts(t, phases), frequency(phases)
    reading = _reading(eid, t, total_w(parts), (dlvd, rcvd), v * phases, pf, f)
    share = 1.0 / phases
    channels = [
        _reading(ch, t, watts(parts[i]), (dlvd * share, rcvd * share), v, pf, f)
        for i, ch in enumerate(_CHANNEL_EIDS[eid][:phases])
    ]
    reading["current"] = _r3(sum(ch["current"] for ch in channels))
    reading["channels"] = channels
    return reading


def meter_readings(plant: Plant, snap: Snapshot) -> list[Json]:
    cts, phases = plant.config.cts, plant.config.phases
    c = snap.counters if cts else plant.initial_counters
    powers = ct_powers(plant, snap)
    pf = _net_power_factor(total_w(powers.grid), total_w(powers.load))
    readings = [
        _meter(PRODUCTION_EID, snap.time, powers.pv, c.production_wh, 75.689, _PV_PF, phases),
        _meter(NET_EID, snap.time, powers.grid, c.import_wh, c.export_wh, pf, phases),
    ]
    if plant.config.battery:  # the load CT delivers all the home uses, receives nothing
        load = _meter(TOTAL_EID, snap.time, powers.load, c.consumption_wh, 0.0, _LOAD_PF, phases)
        readings.append(load)
    if plant.config.battery and plant.config.storage_ct:
        # Positive while the battery discharges (delivers through its CT), as the batteries'
        # own real_power_mw; it delivers what they discharge, receives what they charge.
        energy = (c.battery_discharged_wh, c.battery_charged_wh)
        storage = _meter(STORAGE_EID, snap.time, powers.storage, *energy, _PV_PF, phases)
        readings.append(storage)
    return readings

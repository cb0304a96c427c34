"""Plant state -> the gateway's payloads, shaped like the real ones (see the captures).

Every function takes the `Plant` (for its fixed configuration) and one `Snapshot`, so all the
payloads built from the same snapshot agree with one another.
"""

from __future__ import annotations

import math
from typing import Any
from xml.sax.saxutils import escape

from .plant import Plant, Snapshot

PRODUCTION_EID = 704643328
NET_EID = 704643584
_CHANNEL_EIDS = {PRODUCTION_EID: (1778385169, 1778385170), NET_EID: (1778385425, 1778385426)}
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


def _eim(kind: str, active: bool, t: float, power: Json, energy: Json, details: bool) -> Json:
    entry: Json = {"type": "eim", "activeCount": 1 if active else 0, "measurementType": kind}
    entry["readingTime"] = int(t)
    entry.update(power)
    entry.update(energy)
    if details:
        entry["lines"] = [_line(power, energy) for _ in range(2)]
    return entry


def _line(power: Json, energy: Json) -> Json:
    """One of two split-phase legs: half of everything, at half the voltage."""
    values = {key: _r3(value / 2) for key, value in {**power, **energy}.items()}
    values["rmsCurrent"] = power["rmsCurrent"]
    values["pwrFactor"] = power["pwrFactor"]
    return values


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


def production_json(plant: Plant, snap: Snapshot, details: bool = False) -> Json:
    """Without CTs the eim entries are inactive (activeCount 0) and frozen, as on real ones."""
    cts = plant.config.cts
    c = snap.counters if cts else plant.initial_counters
    t, v = snap.time, volts(snap.time)
    solar, load = (snap.solar_w, snap.consumption_w) if cts else (0.0, 0.0)
    grid = snap.grid_w if cts else 0.0
    prod = _eim_energy(c.production_wh, c.production_today_wh, c.production_seven_days_wh)
    cons = _eim_energy(c.consumption_wh, c.consumption_today_wh, c.consumption_seven_days_wh)
    net = _eim_energy(c.import_wh - c.export_wh, 0.0, 0.0)
    net_power = _eim_values(grid, _net_power_factor(grid, load), v)
    return {
        "production": [
            _inverters_entry(plant, snap),
            _eim("production", cts, t, _eim_values(solar, _PV_PF, v), prod, details),
        ],
        "consumption": [
            _eim("total-consumption", cts, t, _eim_values(load, _LOAD_PF, v), cons, details),
            _eim("net-consumption", cts, t, net_power, net, details),
        ],
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


def meters_json(plant: Plant) -> list[Json]:
    state = "enabled" if plant.config.cts else "disabled"
    return [
        {
            "eid": eid,
            "state": state,
            "measurementType": kind,
            "phaseMode": "split",
            "phaseCount": 2,
            "meteringStatus": "normal",
            "statusFlags": [],
        }
        for eid, kind in ((PRODUCTION_EID, "production"), (NET_EID, "net-consumption"))
    ]


def _reading(eid: int, t: float, w: float, dlvd: float, rcvd: float, v: float, pf: float) -> Json:
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
        "freq": 60.0,
    }


def _meter(eid: int, t: float, w: float, dlvd: float, rcvd: float, pf: float) -> Json:
    v = volts(t)
    reading = _reading(eid, t, w, dlvd, rcvd, v, pf)
    channels = [_reading(ch, t, w / 2, dlvd / 2, rcvd / 2, v / 2, pf) for ch in _CHANNEL_EIDS[eid]]
    reading["current"] = _r3(sum(ch["current"] for ch in channels))
    reading["channels"] = channels
    return reading


def meter_readings(plant: Plant, snap: Snapshot) -> list[Json]:
    cts = plant.config.cts
    c = snap.counters if cts else plant.initial_counters
    solar = snap.solar_w if cts else 0.0
    grid = snap.grid_w if cts else 0.0
    pf = _net_power_factor(grid, snap.consumption_w if cts else 0.0)
    return [
        _meter(PRODUCTION_EID, snap.time, solar, c.production_wh, 75.689, _PV_PF),
        _meter(NET_EID, snap.time, grid, c.import_wh, c.export_wh, pf),
    ]

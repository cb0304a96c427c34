"""Plant state -> the live views: ``/ivp/livedata/status`` and ``/stream/meter`` events."""

from __future__ import annotations

import math
from typing import Any

from .payloads import volts
from .plant import Plant, Snapshot

Json = dict[str, Any]


def _aggregate(w: float) -> Json:
    """Milliwatt aggregates split over two legs (phase c unused on split phase)."""
    half_mw = round(w * 500)
    half_mva = round(abs(w) * 500)
    return {
        "agg_p_mw": 2 * half_mw,
        "agg_s_mva": 2 * half_mva,
        "agg_p_ph_a_mw": half_mw,
        "agg_p_ph_b_mw": half_mw,
        "agg_p_ph_c_mw": 0,
        "agg_s_ph_a_mva": half_mva,
        "agg_s_ph_b_mva": half_mva,
        "agg_s_ph_c_mva": 0,
    }


def livedata_status(plant: Plant, snap: Snapshot) -> Json:
    capacity = plant.config.unit_capacity_wh * len(snap.soc_wh)
    soc = round(100 * sum(snap.soc_wh) / capacity) if capacity else 0
    meters = {
        "last_update": int(snap.time),
        "soc": soc,
        "main_relay_state": 1,
        "gen_relay_state": 5,
        "backup_bat_mode": 1,
        "backup_soc": round(plant.config.reserve_soc_percent) if capacity else 0,
        "is_split_phase": 1,
        "phase_count": 2,
        "enc_agg_soc": soc,
        "enc_agg_energy": round(sum(snap.soc_wh)),
        "acb_agg_soc": 0,
        "acb_agg_energy": 0,
        "pv": _aggregate(snap.solar_w),
        "storage": _aggregate(sum(snap.battery_w)),
        "grid": _aggregate(snap.grid_w),
        "load": _aggregate(snap.consumption_w),
        "generator": _aggregate(0.0),
    }
    return {
        "connection": {
            "mqtt_state": "connected",
            "prov_state": "configured",
            "auth_state": "ok",
            "sc_stream": "enabled",
            "sc_debug": "disabled",
        },
        "meters": meters,
        "tasks": {"task_id": 0, "timestamp": int(snap.time)},
        "counters": {},
        "dry_contacts": {},
    }


def _leg(w: float, pf: float, v: float) -> Json:
    apparent = abs(w) / pf if w else 0.0
    reactive = math.sqrt(max(0.0, apparent**2 - w**2))
    return {
        "p": round(w, 3),
        "q": round(reactive, 3),
        "s": round(apparent, 3),
        "v": round(v, 3),
        "i": round(apparent / v, 3),
        "pf": round(pf if w else 0.0, 2),
        "f": 60.0,
    }


def _phases(w: float, pf: float, v: float) -> Json:
    zero = _leg(0.0, 1.0, v)
    return {"ph-a": _leg(w / 2, pf, v), "ph-b": _leg(w / 2, pf, v), "ph-c": zero}


def stream_meter_event(snap: Snapshot) -> Json:
    """One ``data:`` event of ``/stream/meter``, per CT and per leg."""
    v = volts(snap.time) / 2
    return {
        "production": _phases(snap.solar_w, 0.99, v),
        "net-consumption": _phases(snap.grid_w, 0.9, v),
        "total-consumption": _phases(snap.consumption_w, 0.92, v),
    }

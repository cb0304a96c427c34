"""Plant state -> the live views: ``/ivp/livedata/status`` and ``/stream/meter`` events.

Both read `PhasePowers`, as the other per-phase views do, so that a phase shows the same power
in every view and the aggregates are the sums of the phases.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .payloads import frequency, phase_volts
from .phases import PHASE_NAMES, MilliWatts, PhasePowers
from .plant import Plant, Snapshot

Json = dict[str, Any]
PV_PF = 0.99
LOAD_PF = 0.92
GRID_PF = 0.9
STORAGE_PF = 0.99


def _aggregate(parts: MilliWatts, pf: float) -> Json:
    """One livedata channel: mW per phase and their sums. Apparent power is signed like the
    real power, as in the published samples."""
    apparent = [round(mw / pf) for mw in parts]
    return {
        "agg_p_mw": sum(parts),
        "agg_s_mva": sum(apparent),
        "agg_p_ph_a_mw": parts[0],
        "agg_p_ph_b_mw": parts[1],
        "agg_p_ph_c_mw": parts[2],
        "agg_s_ph_a_mva": apparent[0],
        "agg_s_ph_b_mva": apparent[1],
        "agg_s_ph_c_mva": apparent[2],
    }


def livedata_status(plant: Plant, snap: Snapshot, stream_enabled: bool) -> Json:
    """``/ivp/livedata/status`` from ``snap`` (which may be an old one: frozen live data)."""
    phases = plant.config.phases
    powers = PhasePowers.of(snap, phases)
    capacity = plant.config.unit_capacity_wh * len(snap.soc_wh)
    soc = round(100 * sum(snap.soc_wh) / capacity) if capacity else 0
    meters = {
        "last_update": int(snap.time),
        "soc": soc,
        "main_relay_state": 1,
        "gen_relay_state": 5,
        "backup_bat_mode": 1,
        "backup_soc": round(plant.config.reserve_soc_percent) if capacity else 0,
        "is_split_phase": 1 if phases == 2 else 0,
        "phase_count": phases,
        "enc_agg_soc": soc,
        "enc_agg_energy": round(sum(snap.soc_wh)),
        "acb_agg_soc": 0,
        "acb_agg_energy": 0,
        "pv": _aggregate(powers.pv, PV_PF),
        "storage": _aggregate(powers.storage, STORAGE_PF),
        "grid": _aggregate(powers.grid, GRID_PF),
        "load": _aggregate(powers.load, LOAD_PF),
        "generator": _aggregate((0, 0, 0), 1.0),
    }
    return {
        "connection": {
            "mqtt_state": "connected",
            "prov_state": "configured",
            "auth_state": "ok",
            "sc_stream": "enabled" if stream_enabled else "disabled",
            "sc_debug": "disabled",
        },
        "meters": meters,
        "tasks": {"task_id": 0, "timestamp": int(snap.time)},
        "counters": {},
        "dry_contacts": {},
    }


def _phase(mw: int, pf: float, v: float, f: float) -> Json:
    w = mw / 1000
    apparent = abs(w) / pf if w else 0.0
    reactive = math.sqrt(max(0.0, apparent**2 - w**2))
    return {
        "p": round(w, 3),
        "q": round(reactive, 3),
        "s": round(apparent, 3),
        "v": round(v, 3),
        "i": round(apparent / v, 3) if v else 0.0,
        "pf": round(math.copysign(pf, w) if w else 0.0, 2),
        "f": f,
    }


def _phases(parts: MilliWatts, pf: float, phases: int, v: float, f: float) -> Json:
    """All three keys, always; unused phases all 0.0."""
    unused = dict.fromkeys(("p", "q", "s", "v", "i", "pf", "f"), 0.0)
    return {
        name: _phase(parts[i], pf, v, f) if i < phases else dict(unused)
        for i, name in enumerate(PHASE_NAMES)
    }


def stream_meter_event(plant: Plant, snap: Snapshot) -> Json:
    """One ``data:`` event of ``/stream/meter``: per CT, per phase."""
    phases = plant.config.phases
    powers = PhasePowers.of(snap, phases)
    v, f = phase_volts(snap.time, phases), frequency(phases)
    return {
        "production": _phases(powers.pv, PV_PF, phases, v, f),
        "net-consumption": _phases(powers.grid, GRID_PF, phases, v, f),
        "total-consumption": _phases(powers.load, LOAD_PF, phases, v, f),
    }


def sse_event(event: Json) -> bytes:
    """An event as the gateway frames it: one ``data:`` line, then an empty line."""
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"

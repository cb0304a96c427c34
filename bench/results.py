"""The benchmark's results as one JSON object (`bench/results/latest.json`).

The keys the issue names come first, each a number; the details behind them follow
(`percycle`, `fleet_details`, `derive`, `machine`, `settings`). `live` (issue 13) carries its
own time, machine and settings, as it is often run alone.

A run of some sections replaces those sections' keys and keeps the others' from the file
(`merge`): `python -m bench --sections live` does not erase the last full run.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.fleet import run_figures as fleet_run_figures
from bench.shapes import SHAPE_NAMES

FLEET_HEADLINE = ("cpu_percent", "rss_kb_per_device", "p99_lag_ms")
# The top-level keys each section owns.
SECTION_KEYS = {
    "percycle": (
        "requests_per_cycle",
        "cpu_ms_per_cycle",
        "bytes_per_cycle",
        "tls_handshakes_per_100_cycles",
        "check_jwt_per_100_cycles",
        "tls_handshakes_per_run",
        "check_jwt_per_run",
        "percycle",
    ),
    "fleet": ("fleet", "fleet_details"),
    "derive": ("derive_cycles_per_second", "derive"),
    "startup": ("startup",),
    "live": ("live",),
    "busy": ("gateway_busy_s_per_hour", "busy"),
    "energy": ("energy",),
    "scaling": ("scaling",),
}
# What describes the run of the sections other than `live` (which has its own).
RUN_KEYS = ("generated_at", "bench_wall_s", "quick", "machine")


def headline(
    percycle: dict[str, Any], fleet: dict[str, Any], derive: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if percycle:
        sides = sorted({side for shape in percycle.values() for side in shape})
        for key in ("requests_per_cycle", "cpu_ms_per_cycle", "bytes_per_cycle"):
            out[key] = {
                shape: {side: percycle[shape][side][key] for side in sides}
                for shape in SHAPE_NAMES
                if shape in percycle
            }
        for key in (
            "tls_handshakes_per_100_cycles",
            "check_jwt_per_100_cycles",
            "tls_handshakes_per_run",
            "check_jwt_per_run",
        ):
            # The worst shape: one number per side, as the issue asks.
            out[key] = {
                side: max(percycle[shape][side][key] for shape in percycle) for side in sides
            }
    if fleet:
        out["fleet"] = {size: _fleet_headline(run) for size, run in fleet.items()}
    if derive:
        out["derive_cycles_per_second"] = derive["derive_cycles_per_second"]
    return out


def _fleet_headline(run: dict[str, Any]) -> dict[str, Any]:
    """Each figure's median over the size's runs (one run before repeats existed)."""
    runs = run.get("runs") or [fleet_run_figures(run)]
    return {key: _median_of_finite(r[key] for r in runs) for key in runs[0]}


def _median_of_finite(values: Iterable[float]) -> float:
    """NaN where no run had the figure (a start-up too short to sample, in a quick run)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def read(path: Path) -> dict[str, Any]:
    """The results written before ({} when there are none, or they do not parse)."""
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return previous if isinstance(previous, dict) else {}


def merge(previous: dict[str, Any], fresh: dict[str, Any], sections: list[str]) -> dict[str, Any]:
    """`previous` with the keys of the `sections` just run taken from `fresh` (a section's
    key absent from `fresh` is dropped: it was not measured this time)."""
    if not previous:
        return fresh
    out = dict(previous)
    for section in sections:
        for key in SECTION_KEYS[section]:
            if key in fresh:
                out[key] = fresh[key]
            else:
                out.pop(key, None)
    settings = dict(previous.get("settings", {}))
    settings.update({k: v for k, v in fresh.get("settings", {}).items() if k in sections})
    out["settings"] = settings
    # `live`, `energy` and `scaling` carry their own time and load: alone, they describe no
    # other run.
    others_ran = bool(set(sections) - {"live", "energy", "scaling"})
    out.update({k: fresh[k] for k in RUN_KEYS if k in fresh and (others_ran or k not in out)})
    return out


def clean(value: Any) -> Any:
    """JSON has no NaN: a figure without samples becomes null; floats are rounded."""
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(document), indent=2, sort_keys=False) + "\n")

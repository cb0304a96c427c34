"""Section `busy`: the gateway's busy seconds per hour, ours and pyenphase's, per plant shape.

Each shape gets one `gem-envoy simulate` with the field latency profile
(`gem_envoy.sim.latency_profile`: every request costs the gateway a service time drawn per
endpoint, one request at a time) at `--latency-scale 0`: the draws are counted as busy time
but not slept, so an hour of cycles runs in seconds. The figures are therefore the profile's
busy time for the requests each side really sends over an hour of its schedule, not a wall
clock measurement.

- Ours (`side_ours`, `side_ours_live`): the poller's clock steps by the interval per cycle,
  and the measured window is a full hour of its schedule (3600 / interval cycles, after
  connect and warm-up), so every paced read (5-minute, hourly) falls in it as often as in a
  real hour. `ours_30s` and `ours_5s` poll; `ours_live` polls at 30 s while the meter stream
  supplies the power (the stream's opening counts, its events do not).
- pyenphase reads the same endpoints every `update()`, whatever the interval: its busy time
  per cycle is measured over `pyenphase_cycles` cycles and scaled to an hour at 60 s and at
  30 s.

Each side runs `repeats` times with a different seed of the draws (a fresh process each);
the median is reported, with every run's figure beside it.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.protocol import Child
from bench.shapes import SHAPES, Shape
from bench.simctl import Simulator
from bench.stats import median, rounded
from gem_envoy.sim.latency_profile import spread_for

HOUR_S = 3600.0
CHILD_TIMEOUT_S = 300.0
# (key, child module, poll interval s): our sides, each over an hour of its schedule.
OURS = (
    ("ours_30s", "bench.side_ours", 30.0),
    ("ours_5s", "bench.side_ours", 5.0),
    ("ours_live", "bench.side_ours_live", 30.0),
)
PYENPHASE_INTERVALS_S = {"pyenphase_60s": 60.0, "pyenphase_30s": 30.0}
SIDES = (*(key for key, _, _ in OURS), *PYENPHASE_INTERVALS_S)
# The goals of issue 17, point 2: (side, at most this fraction of, other side).
GOALS = (("ours_30s", 0.25, "pyenphase_30s"), ("ours_5s", 1.0, "pyenphase_60s"))


@dataclass(frozen=True, slots=True)
class BusySettings:
    repeats: int = 3
    warmup: int = 5
    # Two hours of our schedules and 240 pyenphase cycles (4 hours at 60 s): /production.json's
    # long tail makes a single hour's figure move by 10-30 % with the seed.
    hours: float = 2.0
    pyenphase_cycles: int = 240
    pyenphase: bool = True


QUICK = BusySettings(repeats=1, warmup=1, hours=0.05, pyenphase_cycles=3)


def _window(sim: Simulator, module: str, interval_s: float, cycles: int, s: BusySettings,
            zones_file: Path) -> dict[str, Any]:  # fmt: skip
    """One run: the busy time and requests of its measured cycles, from the simulator."""
    sim.reset()
    args = [
        "--port", str(sim.port), "--token-file", str(sim.token_file),
        "--zones-file", str(zones_file), "--warmup", str(s.warmup),
        "--cycles", str(cycles), "--interval-s", str(interval_s),
    ]  # fmt: skip
    child = Child(module, args)
    try:
        child.expect("warm", CHILD_TIMEOUT_S)
        sim.reset()
        child.send("go")
        done = child.expect("done", CHILD_TIMEOUT_S)
        stats = sim.stats()
        child.finish()
    except BaseException:
        child.kill()
        raise
    paths = stats["paths"]
    return {
        "cycles": cycles,
        "busy_s": float(stats["busy_s"]),
        "expected_busy_s": expected_busy_s(stats["requests"]),
        "busy_s_by_path": {p: float(v["busy_s"]) for p, v in sorted(paths.items())},
        "requests_by_path": {p: int(v["requests"]) for p, v in sorted(paths.items())},
        "sample": done.get("sample", {}),
    }


def expected_busy_s(requests: dict[str, int]) -> float:
    """The busy time the profile's means give the same requests: free of the draws' luck."""
    total = 0.0
    for target, count in requests.items():
        path, _, query = target.partition("?")
        total += count * spread_for(path, query).mean_s()
    return total


def run_shape(shape: Shape, s: BusySettings, gem_envoy: Path, log: Callable[[str], None]
              ) -> dict[str, Any]:  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        zones_file = Path(tmp) / "zones.txt"
        for seed in range(s.repeats):
            extra = ("--latency-profile", "field", "--latency-scale", "0",
                     "--latency-seed", str(seed))  # fmt: skip
            with Simulator(shape, gem_envoy, extra) as sim:
                zones_file.write_text("\n".join(sim.inverter_serials()))
                for key, module, interval_s in OURS:
                    cycles = max(1, round(s.hours * HOUR_S / interval_s))
                    result = _window(sim, module, interval_s, cycles, s, zones_file)
                    scale = HOUR_S / (cycles * interval_s)
                    result["per_hour"] = result["busy_s"] * scale
                    result["expected_per_hour"] = result["expected_busy_s"] * scale
                    runs.setdefault(key, []).append(result)
                if s.pyenphase:
                    result = _window(sim, "bench.side_pyenphase", 5.0, s.pyenphase_cycles, s,
                                     zones_file)  # fmt: skip
                    for key, interval_s in PYENPHASE_INTERVALS_S.items():
                        scale = HOUR_S / (s.pyenphase_cycles * interval_s)
                        runs.setdefault(key, []).append(result | {
                            "per_hour": result["busy_s"] * scale,
                            "expected_per_hour": result["expected_busy_s"] * scale,
                        })  # fmt: skip
            figures = ", ".join(f"{k} {v[-1]['per_hour']:.0f}" for k, v in runs.items())
            log(f"  {shape.name:16} seed {seed}: busy s/hour {figures}")
    return {key: _summary(results) for key, results in runs.items()}


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    last = results[-1]
    return {
        "busy_s_per_hour": rounded(median([r["per_hour"] for r in results]), 1),
        "busy_s_per_hour_runs": [rounded(r["per_hour"], 1) for r in results],
        # The same requests at the profile's mean service times (the last run's requests).
        "expected_busy_s_per_hour": rounded(last["expected_per_hour"], 1),
        "window_cycles": last["cycles"],
        "busy_s_by_path": last["busy_s_by_path"],
        "requests_by_path": last["requests_by_path"],
        "sample": last["sample"],
    }


def headline(details: dict[str, Any]) -> dict[str, Any]:
    """`gateway_busy_s_per_hour.{shape}.{side}`: the medians."""
    return {
        shape: {side: figures["busy_s_per_hour"] for side, figures in sides.items()}
        for shape, sides in details.items()
    }


def goals(per_hour: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal on each shape: the figures, the limit, and whether it is met."""
    out = []
    for shape, sides in per_hour.items():
        for ours, fraction, theirs in GOALS:
            if ours not in sides or theirs not in sides:
                continue
            limit = fraction * sides[theirs]
            out.append({
                "shape": shape, "ours": ours, "theirs": theirs, "fraction": fraction,
                "figure": sides[ours], "limit": limit, "met": sides[ours] <= limit,
            })  # fmt: skip
    return out


def run(s: BusySettings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every shape: {shape: {side: summary}}."""
    gem_envoy = Path(sys.executable).parent / "gem-envoy"
    return {shape.name: run_shape(shape, s, gem_envoy, log) for shape in SHAPES}

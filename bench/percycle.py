"""Section 1: one poll cycle, gem-envoy vs pyenphase, on each plant shape.

For each shape one `gem-envoy simulate` process serves both sides. Each run is a fresh child
process for one side: connect, warm up, then (counters reset) the measured cycles, back to back
for both sides. The request, byte, handshake and check_jwt figures are the simulator's own
counters; the CPU figure is the child's own process time over the measured cycles. Each run is
repeated, the sides alternating, and the median of the repeats is reported.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.protocol import Child
from bench.shapes import SHAPES, Shape
from bench.simctl import SimCounters, Simulator
from bench.stats import median, rounded

SIDES = ("ours", "pyenphase")
MODULES = {"ours": "bench.side_ours", "pyenphase": "bench.side_pyenphase"}
CHILD_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class CycleSettings:
    warmup: int = 5
    cycles: int = 120
    repeats: int = 3
    interval_s: float = 5.0
    sides: tuple[str, ...] = SIDES
    profile_dir: Path | None = None


def pyenphase_available() -> bool:
    try:
        import pyenphase  # noqa: F401
    except ImportError:
        return False
    return True


def run_once(sim: Simulator, side: str, zones_file: Path, s: CycleSettings) -> dict[str, Any]:
    """One run of one side; the figures of its measured window and of the whole run."""
    sim.reset()
    args = [
        "--port", str(sim.port), "--token-file", str(sim.token_file),
        "--zones-file", str(zones_file), "--warmup", str(s.warmup),
        "--cycles", str(s.cycles), "--interval-s", str(s.interval_s),
    ]  # fmt: skip
    if s.profile_dir is not None:
        args += ["--profile", str(s.profile_dir / f"{side}-{sim.shape.name}.txt")]
    child = Child(MODULES[side], args)
    try:
        child.expect("warm", CHILD_TIMEOUT_S)
        setup = sim.counters()  # connect + warm-up
        sim.reset()
        child.send("go")
        done = child.expect("done", CHILD_TIMEOUT_S)
        window = sim.counters()
        child.finish()
    except BaseException:
        child.kill()
        raise
    return _figures(done, setup, window, s.warmup)


def _figures(
    done: dict[str, Any], setup: SimCounters, window: SimCounters, warmup: int
) -> dict[str, Any]:
    cycles = int(done["cycles"])
    run_cycles = cycles + warmup
    handshakes = setup.tls_handshakes + window.tls_handshakes
    check_jwt = setup.check_jwt + window.check_jwt
    return {
        "requests_per_cycle": window.requests_total / cycles,
        "bytes_per_cycle": window.bytes_sent / cycles,
        "cpu_ms_per_cycle": done["cpu_s"] * 1000 / cycles,
        "wall_ms_per_cycle": done["wall_s"] * 1000 / cycles,
        "tls_handshakes_per_run": handshakes,
        "check_jwt_per_run": check_jwt,
        "tls_handshakes_per_100_cycles": handshakes * 100 / run_cycles,
        "check_jwt_per_100_cycles": check_jwt * 100 / run_cycles,
        "window_tls_handshakes": window.tls_handshakes,
        "window_check_jwt": window.check_jwt,
        "setup_requests": setup.requests,
        "requests_by_path": {k: v / cycles for k, v in sorted(window.requests.items())},
        "sample": done.get("sample", {}),
    }


def run_shape(shape: Shape, s: CycleSettings, gem_envoy: Path, log: Any) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in s.sides}
    with Simulator(shape, gem_envoy) as sim, tempfile.TemporaryDirectory() as tmp:
        zones_file = Path(tmp) / "zones.txt"
        zones_file.write_text("\n".join(sim.inverter_serials()))
        for repeat in range(s.repeats):
            order = s.sides if repeat % 2 == 0 else tuple(reversed(s.sides))
            for side in order:
                result = run_once(sim, side, zones_file, s)
                runs[side].append(result)
                log(
                    f"  {shape.name:16} {side:9} run {repeat + 1}: "
                    f"{result['requests_per_cycle']:.3f} req/cycle, "
                    f"{result['cpu_ms_per_cycle']:.2f} ms CPU/cycle"
                )
    return {side: summarise(results) for side, results in runs.items()}


MEDIAN_KEYS = (
    "requests_per_cycle",
    "bytes_per_cycle",
    "cpu_ms_per_cycle",
    "wall_ms_per_cycle",
    "tls_handshakes_per_run",
    "check_jwt_per_run",
    "tls_handshakes_per_100_cycles",
    "check_jwt_per_100_cycles",
    "window_tls_handshakes",
    "window_check_jwt",
)


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        key: rounded(median([r[key] for r in results]), 4) for key in MEDIAN_KEYS
    }
    summary["cpu_ms_per_cycle_runs"] = [rounded(r["cpu_ms_per_cycle"], 4) for r in results]
    summary["requests_by_path"] = results[-1]["requests_by_path"]
    summary["setup_requests"] = results[-1]["setup_requests"]
    summary["sample"] = results[-1]["sample"]
    summary["runs"] = len(results)
    return summary


def run(s: CycleSettings, log: Any = print) -> dict[str, dict[str, Any]]:
    """Every shape: {shape: {side: summary}}."""
    gem_envoy = Path(sys.executable).parent / "gem-envoy"
    results: dict[str, dict[str, Any]] = {}
    for shape in SHAPES:
        results[shape.name] = run_shape(shape, s, gem_envoy, log)
    return results

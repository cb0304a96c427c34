"""Section 2: one host process polling N simulated gateways at the 5 s floor.

The gateways run in `fleet_sims` processes (one per `GATEWAYS_PER_SIM_PROCESS`), the host in a
`fleet_host` process; all of them share this machine's cores. Each size is one run: the host
starts every device at once (its own behaviour), a start-up phase is reported apart, then the
steady window is measured.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.protocol import Child

GATEWAYS_PER_SIM_PROCESS = 1000


@dataclass(frozen=True, slots=True)
class FleetSettings:
    sizes: tuple[int, ...] = (100, 500, 1000, 2000)
    startup_s: float = 20.0
    window_s: float = 60.0
    zones: bool = True
    settle_intervals: float = 2.0
    """Start-up lasts at least this many polling intervals after the last device started."""
    live: bool = False
    """Devices follow the live feed (the live section's fleet); the polling fleet does not."""
    role: str = "installer"
    """The gateways' tokens: `installer` (the meter stream when live) or `owner` (livedata)."""
    repeats: int = 1
    """Runs of each size, one after the other; the headline is each figure's median."""


def run_size(count: int, s: FleetSettings, log: Any) -> dict[str, Any]:
    processes = max(1, math.ceil(count / GATEWAYS_PER_SIM_PROCESS))
    sims: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="gem-bench-fleet-") as tmp:
        files = [Path(tmp) / f"gateways-{i}.json" for i in range(processes)]
        try:
            first = 0
            for i, path in enumerate(files):
                share = count // processes + (1 if i < count % processes else 0)
                sims.append(sim_child(share, first, path, s.role))
                first += share
            ready = [sim.expect("ready", 300) for sim in sims]
            sim_cpu0 = [_sim_stats(sim)["cpu_s"] for sim in sims]
            host_args = [
                "--gateways", *map(str, files),
                "--startup-s", str(s.startup_s), "--window-s", str(s.window_s),
                "--settle-intervals", str(s.settle_intervals),
            ]  # fmt: skip
            if not s.zones:
                host_args.append("--no-zones")
            if s.live:
                host_args.append("--live")
            host = Child("bench.fleet_host", host_args)
            try:
                timeout = s.startup_s + s.window_s + 300
                result = host.expect("result", timeout)
                host.finish()
            except BaseException:
                host.kill()
                raise
            stats = [_sim_stats(sim) for sim in sims]
        finally:
            for sim in sims:
                with contextlib.suppress(OSError):
                    sim.send("quit")
                sim.finish()
    result["simulators"] = _sim_summary(stats, sim_cpu0, ready, count)
    log(
        f"  fleet {count:5}: CPU {result['cpu_percent']:.1f} %, "
        f"{result['rss_kb_per_device']:.0f} KB/device, "
        f"p99 lag {result['steady']['p99_lag_ms']:.0f} ms steady, "
        f"{result['startup']['p99_lag_ms']:.0f} ms start-up"
    )
    return result


def sim_child(count: int, first: int, path: Path, role: str) -> Child:
    """A `fleet_sims` process serving `count` gateways, described in the file `path`."""
    args = ["--count", str(count), "--first", str(first), "--out", str(path), "--role", role]
    return Child("bench.fleet_sims", args)


def _sim_stats(sim: Child) -> dict[str, Any]:
    sim.send("stats")
    return sim.expect("stats", 60)


def _sim_summary(
    stats: list[dict[str, Any]], cpu0: list[float], ready: list[dict[str, Any]], count: int
) -> dict[str, Any]:
    requests = sum(s["requests_total"] for s in stats)
    handshakes = sum(s["tls_handshakes"] for s in stats)
    check_jwt = sum(s["check_jwt"] for s in stats)
    paths: dict[str, int] = {}
    for s in stats:
        for path, n in s["requests"].items():
            paths[path] = paths.get(path, 0) + n
    return {
        "processes": len(stats),
        "start_s": max(r["start_s"] for r in ready),
        "cpu_s": sum(s["cpu_s"] - c for s, c in zip(stats, cpu0, strict=True)),
        "requests_total": requests,
        "requests": paths,
        "tls_handshakes_per_gateway": handshakes / count,
        "check_jwt_per_gateway": check_jwt / count,
        "max_tls_handshakes_per_gateway": max(s["max_tls_handshakes_per_gateway"] for s in stats),
        "max_check_jwt_per_gateway": max(s["max_check_jwt_per_gateway"] for s in stats),
        "gateways_never_polled": sum(s["gateways_never_polled"] for s in stats),
        "loop_late_p99_ms": max(s["loop_late_p99_ms"] for s in stats),
        "max_streams_open_per_gateway": max(
            s.get("max_streams_open_per_gateway", 0) for s in stats
        ),
        "bytes_sent": sum(s.get("bytes_sent", 0) for s in stats),
    }


def run(s: FleetSettings, log: Any = print) -> dict[str, dict[str, Any]]:
    """Each size `repeats` times: its median run (by p99 poll time) with every run's figures
    under "runs" (the headline takes each figure's median over them, see results.py)."""
    out: dict[str, dict[str, Any]] = {}
    for count in s.sizes:
        runs = [run_size(count, s, log) for _ in range(max(1, s.repeats))]
        ranked = sorted(runs, key=lambda r: float(r["steady"]["p99_poll_ms"]))
        out[str(count)] = {**ranked[len(ranked) // 2], "runs": [run_figures(r) for r in runs]}
    return out


def run_figures(run: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run that the headline and the report's table show."""
    sims = run["simulators"]
    return {
        "cpu_percent": run["cpu_percent"],
        "rss_kb_per_device": run["rss_kb_per_device"],
        "p99_lag_ms": run["steady"]["p99_lag_ms"],
        "p99_lag_ms_startup": run["startup"]["p99_lag_ms"],
        "p99_poll_ms": run["steady"]["p99_poll_ms"],
        "p99_poll_ms_startup": run["startup"]["p99_poll_ms"],
        "poll_rate_ratio": run["poll_rate_ratio"],
        "startup_s": run["startup_s"],
        "tls_handshakes_per_gateway": sims["tls_handshakes_per_gateway"],
        "check_jwt_per_gateway": sims["check_jwt_per_gateway"],
    }

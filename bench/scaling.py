"""Section: beyond one host (issue 17 point 6, docs/scaling.md).

Two measurements, reported without a target:
- one host alone with more gateways than the fleet section (5000), as `fleet.run_size` runs it;
- a fleet split over independent hosts (two of 1000 gateways, each with its own store), every
  host publishing through its MQTT bridge to one shared mosquitto, read by one subscriber
  (`mqtt_probe`): the broker's messages per second and CPU, and the end-to-end delay of each
  device's state document from the end of its poll to the subscriber.

Everything shares this machine's cores: the hosts, the simulators, the broker and the probe.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import fleet, machine
from bench.broker import Mosquitto, mosquitto_binary
from bench.protocol import Child


@dataclass(frozen=True, slots=True)
class ScalingSettings:
    alone_sizes: tuple[int, ...] = (5000,)
    hosts: int = 2
    gateways_per_host: int = 1000
    repeats: int = 3
    """Runs of the shared-broker measurement; its headline takes each figure's median."""
    startup_s: float = 10.0
    window_s: float = 60.0


QUICK = ScalingSettings(alone_sizes=(), hosts=2, gateways_per_host=3, repeats=1, window_s=8.0)


def run(s: ScalingSettings, log: Any = print) -> dict[str, Any]:
    alone_settings = fleet.FleetSettings(
        sizes=s.alone_sizes, startup_s=s.startup_s, window_s=s.window_s
    )
    alone = {str(n): fleet.run_size(n, alone_settings, log) for n in s.alone_sizes}
    binary = mosquitto_binary()
    if binary is None:
        log("  mosquitto is not installed (make mqtt-broker): no shared-broker measurement")
        skipped = {"skipped": "mosquitto is not installed"}
        return {
            "load_average_at_end": machine.load_average(),
            "alone": alone,
            "shared_broker": skipped,
        }
    runs = [shared_broker_run(binary, s, log) for _ in range(max(1, s.repeats))]
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_end": machine.load_average(),
        "alone": alone,
        "shared_broker": {"median": _medians(runs), "runs": runs},
    }


def shared_broker_run(binary: str, s: ScalingSettings, log: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gem-bench-scaling-") as tmp:
        broker = Mosquitto(binary, Path(tmp))
        children: list[Child] = []
        try:
            files = [Path(tmp) / f"site-{i}.json" for i in range(s.hosts)]
            sims = [
                fleet.sim_child(s.gateways_per_host, i * s.gateways_per_host, path, "installer")
                for i, path in enumerate(files)
            ]
            children += sims
            for sim in sims:
                sim.expect("ready", 300)
            probe = Child("bench.mqtt_probe", ["--url", broker.url])
            children.append(probe)
            probe.expect("ready", 60)
            began, cpu0 = time.monotonic(), broker.cpu_s()
            hosts = [_host_child(path, f"site-{i}", broker.url, s) for i, path in enumerate(files)]
            children += hosts
            results = [h.expect("result", s.startup_s + s.window_s + 600) for h in hosts]
            broker_cpu = 100 * (broker.cpu_s() - cpu0) / (time.monotonic() - began)
            since = max(r["window_wall_s"][0] for r in results)
            until = min(r["window_wall_s"][1] for r in results)
            probe.send(f"report {since} {until}")
            flow = {k: v for k, v in probe.expect("report", 120).items() if k != "event"}
        finally:
            for child in children:
                with contextlib.suppress(OSError):
                    child.send("quit")
                child.finish()
            broker.close()
    run = {"broker": {**flow, "cpu_percent": broker_cpu}, "hosts": [_host(r) for r in results]}
    log(
        f"  {s.hosts} hosts x {s.gateways_per_host} gateways, one broker: "
        f"{flow['messages_per_s']:.0f} messages/s, state delay p50 {flow['p50_delay_ms']:.0f} ms"
        f" p99 {flow['p99_delay_ms']:.0f} ms, broker CPU {broker_cpu:.1f} %"
    )
    return run


def _host_child(gateways: Path, prefix: str, url: str, s: ScalingSettings) -> Child:
    args = [
        "--gateways", str(gateways), "--startup-s", str(s.startup_s),
        "--window-s", str(s.window_s), "--mqtt", url, "--mqtt-prefix", prefix,
    ]  # fmt: skip
    return Child("bench.fleet_host", args)


def _host(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "devices": result["devices"],
        "cpu_percent": result["cpu_percent"],
        "rss_kb_per_device": result["rss_kb_per_device"],
        "p99_lag_ms": result["steady"]["p99_lag_ms"],
        "p99_poll_ms": result["steady"]["p99_poll_ms"],
        "poll_rate_ratio": result["poll_rate_ratio"],
    }


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The shared-broker headline: each figure's median over the runs (host figures summed
    over the hosts for CPU, worst host for the rest)."""
    flat = [
        {
            **{f"broker_{k}": v for k, v in r["broker"].items()},
            "hosts_cpu_percent": sum(h["cpu_percent"] for h in r["hosts"]),
            "worst_p99_poll_ms": max(h["p99_poll_ms"] for h in r["hosts"]),
            "worst_p99_lag_ms": max(h["p99_lag_ms"] for h in r["hosts"]),
            "worst_poll_rate_ratio": min(h["poll_rate_ratio"] for h in r["hosts"]),
        }
        for r in runs
    ]
    return {key: statistics.median(f[key] for f in flat) for key in flat[0]}

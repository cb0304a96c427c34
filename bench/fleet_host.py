"""Child process: one real host (store, supervisor, enphase_envoy driver) polling N gateways.

    baseline RSS (host open, no device) -> add N devices (+ one zone per inverter)
    -> supervisor.start() -> start-up phase -> steady window -> report

Every device polls at the 5 s floor. Lag is `DeviceRunner.last_lag_s`, sampled once per cycle of
each runner (a runner's `scheduled_at` changes once per cycle; the sampler looks every
`--sample-s`, well under the interval). Poll time and the count of polls come from the driver's
`poll()`, timed by a subclass that changes nothing else. CPU is this process's own (all threads:
the event loop and the database threads). The REST API is not started: it would idle, and the
issue measures polling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bench.loopprobe import LoopProbe
from bench.protocol import emit
from bench.stats import percentile
from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.host import supervisor
from gem_envoy.host.bridges.mqtt import MqttBridge
from gem_envoy.host.bridges.mqtt_options import MqttOptions, parse_broker_url
from gem_envoy.host.runner import DeviceRunner
from gem_envoy.host.service import Host
from gem_envoy.host.sink import StoreSink

INTERVAL_MS = 5000
ADD_BATCH = 50
MAX_START_S = 300.0  # the supervisor must have started every device by then


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class LagSampler:
    """One lag sample per runner cycle: `last_lag_s`, read when `scheduled_at` moves on (a
    runner sets it once per cycle, when it goes to sleep)."""

    seen: dict[int, float | None] = field(default_factory=dict)
    samples: list[tuple[float, float]] = field(default_factory=list)
    first_polls: int = 0

    def look(self, runners: Mapping[int, DeviceRunner], now: float) -> None:
        for device_id, runner in runners.items():
            scheduled = runner.scheduled_at
            if device_id not in self.seen:
                self.seen[device_id] = scheduled
                if scheduled is not None:
                    self.first_polls += 1
                continue
            previous = self.seen[device_id]
            if scheduled == previous:
                continue
            if previous is None:
                self.first_polls += 1  # the first cycle has no schedule to be late for
            else:
                self.samples.append((now, runner.last_lag_s))
            self.seen[device_id] = scheduled

    def lags_ms(self, since: float, until: float) -> list[float]:
        return [lag * 1000 for t, lag in self.samples if since <= t < until]


class PollTimes:
    """How long each `poll()` of the driver took (request, parse, store writes), by end time.
    The runner stores a cycle's writes in one transaction after `poll()` returns: a poll
    ends when that commits (`TimedStoreSink`)."""

    samples: ClassVar[list[tuple[float, float]]] = []
    began: ClassVar[dict[int, float]] = {}  # per device, from poll() until its commit

    @classmethod
    def durations_ms(cls, since: float, until: float) -> list[float]:
        return [d * 1000 for t, d in cls.samples if since <= t < until]


class TimedEnphaseDriver(EnphaseEnvoyDriver):
    """The enphase_envoy driver itself; only its `poll()` is timed, for `PollTimes`."""

    async def poll(self) -> None:
        PollTimes.began[self.config.id] = time.monotonic()
        await super().poll()


class TimedStoreSink(StoreSink):
    """The host's sink itself; a timed poll ends when its cycle's transaction commits."""

    @contextlib.asynccontextmanager
    async def one_transaction(self) -> AsyncIterator[None]:
        try:
            async with super().one_transaction():
                yield
        finally:
            began = PollTimes.began.pop(self._device_id, None)
            if began is not None:
                ended = time.monotonic()
                PollTimes.samples.append((ended, ended - began))


async def add_devices(
    host: Host, gateways: list[dict[str, Any]], zones: bool, live: bool = False
) -> None:
    async def add(index: int, gateway: dict[str, Any]) -> None:
        device = await host.store.add_device(
            f"envoy-{index}",
            "enphase_envoy",
            attributes={
                "ip": "127.0.0.1",
                "port": gateway["port"],
                "token": gateway["token"],
                "polling_interval": INTERVAL_MS,
                # The polling fleet; live feeds are measured in their own section (--live),
                # running with nobody watching them.
                "live": live,
                "live_when": "always" if live else "watched",
            },
        )
        if zones:
            for number, serial in enumerate(gateway["inverters"], start=1):
                await host.store.add_zone(device.id, f"inverter-{number}", serial)

    for start in range(0, len(gateways), ADD_BATCH):
        batch = gateways[start : start + ADD_BATCH]
        await asyncio.gather(*(add(start + i, g) for i, g in enumerate(batch)))


async def sample_until(host: Host, sampler: LagSampler, until: float, every_s: float) -> None:
    while (now := time.monotonic()) < until:
        sampler.look(host.supervisor.runners, now)
        await asyncio.sleep(min(every_s, max(0.0, until - now)))
    sampler.look(host.supervisor.runners, time.monotonic())


def figures(sampler: LagSampler, since: float, until: float) -> dict[str, float]:
    lags = sampler.lags_ms(since, until)
    durations = PollTimes.durations_ms(since, until)
    return {
        "samples": len(lags),
        "p50_lag_ms": percentile(lags, 50),
        "p99_lag_ms": percentile(lags, 99),
        "max_lag_ms": max(lags, default=0.0),
        "p50_poll_ms": percentile(durations, 50),
        "p99_poll_ms": percentile(durations, 99),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    gateways: list[dict[str, Any]] = []
    for path in args.gateways:
        gateways += json.loads(path.read_text())
    with tempfile.TemporaryDirectory(prefix="gem-bench-host-") as tmp:
        drivers = {EnphaseEnvoyDriver.name: TimedEnphaseDriver}
        supervisor.StoreSink = TimedStoreSink  # type: ignore[attr-defined]  # the host's, timed
        host = await Host.open(Path(tmp) / "gem-envoy.db", drivers)
        bridge = start_bridge(host, args.mqtt, args.mqtt_prefix) if args.mqtt else None
        try:
            await host.supervisor.start()  # no device yet: the baseline
            await asyncio.sleep(0.5)
            baseline_kb = rss_kb()
            began_add = time.monotonic()
            await add_devices(host, gateways, args.zones, args.live)
            add_s = time.monotonic() - began_add
            return await measure(host, len(gateways), baseline_kb, add_s, args)
        finally:
            if bridge is not None:
                bridge.cancel()
                await asyncio.gather(bridge, return_exceptions=True)
            await host.close()


async def measure(
    host: Host, count: int, baseline_kb: int, add_s: float, args: argparse.Namespace
) -> dict[str, Any]:
    """Start every device (as a host restart does), then: start-up phase, steady window."""
    interval_s = INTERVAL_MS / 1000
    sampler = LagSampler()
    probe = LoopProbe()
    watch = asyncio.create_task(host.supervisor.watch_store(), name="config-watch")
    probing = asyncio.create_task(probe.run(), name="loop-probe")
    try:
        t0, c0 = time.monotonic(), cpu_s()
        start = asyncio.create_task(host.supervisor.start())
        while not start.done() and time.monotonic() - t0 < args.startup_s + MAX_START_S:
            await sample_until(host, sampler, time.monotonic() + 1.0, args.sample_s)
        await start
        started_s = time.monotonic() - t0
        # Start-up lasts at least `startup_s`, and some intervals after the last start.
        settled = t0 + started_s + args.settle_intervals * interval_s
        await sample_until(host, sampler, max(t0 + args.startup_s, settled), args.sample_s)
        t1, c1, wall1 = time.monotonic(), cpu_s(), time.time()
        await sample_until(host, sampler, t1 + args.window_s, args.sample_s)
        t2, c2, wall2 = time.monotonic(), cpu_s(), time.time()
        rss_end = rss_kb()
    finally:
        watch.cancel()
        probing.cancel()
        await asyncio.gather(watch, probing, return_exceptions=True)
    runners = list(host.supervisor.runners.values())
    sources = await live_sources(host) if args.live else {}
    steady = figures(sampler, t1, t2)
    polls = len(PollTimes.durations_ms(t1, t2))
    loop_late = probe.late_ms(t1, t2)
    expected = count * (t2 - t1) / interval_s
    return {
        "devices": count,
        "interval_ms": INTERVAL_MS,
        "add_devices_s": add_s,
        "supervisor_start_s": started_s,
        "startup_s": t1 - t0,
        "window_s": t2 - t1,
        "window_wall_s": [wall1, wall2],
        "cpu_percent": 100 * (c2 - c1) / (t2 - t1),
        "startup_cpu_percent": 100 * (c1 - c0) / (t1 - t0),
        "baseline_rss_kb": baseline_kb,
        "rss_kb": rss_end,
        "rss_kb_per_device": (rss_end - baseline_kb) / count,
        "steady": steady,
        "startup": figures(sampler, t0, t1),
        "whole_run": figures(sampler, t0, t2),
        "polls_per_s": polls / (t2 - t1),
        "expected_polls_per_s": count / interval_s,
        "poll_rate_ratio": polls / expected if expected else 0.0,
        "loop_late_p50_ms": percentile(loop_late, 50),
        "loop_late_p99_ms": percentile(loop_late, 99),
        "devices_polled": sampler.first_polls,
        "devices_failing": sum(1 for r in runners if getattr(r, "failures", 0) > 0),
        "live_sources": sources,
    }


def start_bridge(host: Host, url: str, prefix: str) -> asyncio.Task[None]:
    """The host's MQTT bridge, as `gem-envoy run --mqtt` starts it (scaling section)."""
    broker = parse_broker_url(url)
    options = MqttOptions(broker.host, broker.port, prefix=prefix)
    bridge = MqttBridge(host.store, host.supervisor, host.events, options)
    return asyncio.create_task(bridge.run(), name="mqtt")


async def live_sources(host: Host) -> dict[str, int]:
    """How many devices show each `live_source` at the end (the live fleet's check)."""
    counts: dict[str, int] = {}
    for device in await host.store.list_devices():
        attribute = (await host.store.get_attributes("device", device.id)).get("live_source")
        key = str(attribute.value) if attribute is not None else "none"
        counts[key] = counts.get(key, 0) + 1
    return counts


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateways", type=Path, nargs="+", required=True)
    parser.add_argument("--startup-s", type=float, default=20.0)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--sample-s", type=float, default=0.5)
    parser.add_argument("--settle-intervals", type=float, default=2.0)
    parser.add_argument("--no-zones", dest="zones", action="store_false")
    parser.add_argument("--live", action="store_true", help="devices follow the live feed")
    parser.add_argument("--mqtt", help="mqtt://host:port: publish through the MQTT bridge")
    parser.add_argument("--mqtt-prefix", default="gem-envoy", help="this host's topic prefix")
    return parser.parse_args()


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # one line per distinct device error at most
    args = parse_args()
    try:
        result = asyncio.run(run(args))
    except Exception as exc:
        emit("error", message=f"{type(exc).__name__}: {exc}")
        raise
    emit("result", **result)


if __name__ == "__main__":
    main()

"""The live feed through every fault of the meter stream, against a real host and simulator.

For each fault: the power values keep moving (live recovers, or livedata or the poll takes
over, within 10 s), no value is made up (the simulator's clock-power probe tells each
value's age), history keeps a point in every polling interval, and never are two streams
open at once. `make reliability` runs every kind; `make test` the stall, which needs all of
the feed's defences at once (the watchdog, the fallback, the rest).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim import SimOptions, start_simulator
from gem_envoy.sim.faults import Fault
from tests.device_events import published
from tests.eventually import eventually

FULL = os.environ.get("GEM_ENVOY_RELIABILITY") == "full"
KINDS = ("stream-stall", "stream-disconnect", "stream-garbage", "stream-split", "stream-burst")
SHORT = ("stream-stall",)
# Twice the stream's 5 s watchdog: at the 5 s floor a stall that begins at the turn of a
# polling interval can leave that one interval without a point while it is being noticed.
POLL_S = 10.0
FAULT_S = 10.0
# A window's point is written once a sample of the next window arrives, so the watch runs
# until the window after the one holding the fault's end has surely begun: the fault, one
# window, and the fallback's 2 s pace with room to spare on a busy machine.
WATCH_S = FAULT_S + POLL_S + 5.0
LONGEST_PAUSE_S = 10.0


def age_s(watts: float, seen_at: float) -> float:
    """How old a clock-power value was when seen: it reads 10 W per second of the
    simulated clock (mod 1000 s), which runs with the wall clock here."""
    return ((seen_at % 1000) - watts / 10 + 500) % 1000 - 500


@pytest.mark.parametrize("kind", [k for k in KINDS if FULL or k in SHORT])
async def test_live_survives_a_stream_fault(tmp_path: Path, kind: str) -> None:
    sim = await start_simulator(SimOptions(clock_power=True, phases=3))
    host = await Host.open(tmp_path / "gem.db", DRIVERS)
    await host.supervisor.start()
    try:
        values: dict[str, AttributeValue] = {
            "ip": sim.host,
            "port": sim.port,
            "token": sim.mint_token("installer", 400 * 86_400),
            "polling_interval": int(POLL_S * 1000),
            "live_when": "always",  # no page watches here
        }
        device = await host.devices.create("envoy", "enphase_envoy", attributes=values)

        async def on_stream() -> bool:
            stored = await host.store.get_attributes("device", device.id)
            return "live_source" in stored and stored["live_source"].value == "stream"

        await eventually(on_stream, what="the stream first")
        started = time.time()
        await sim.set_fault(Fault(kind, duration_s=FAULT_S))
        seen = await published(host.events, device.id, "production_now_w", WATCH_S)
        # From one window back: the window the fault began in is stamped with its last
        # sample, which the stall can leave before `started`.
        since = started - POLL_S
        points = await host.store.history("device", device.id, "production_now_w", since)
    finally:
        await host.close()
        await sim.close()

    times = [at for at, _ in seen]
    pauses = [b - a for a, b in zip([started, *times], [*times, time.time()], strict=True)]
    assert max(pauses) <= LONGEST_PAUSE_S, f"{kind}: the power stood still for {max(pauses):.1f} s"
    ages = [age_s(watts, at) for at, watts in seen]
    assert all(-0.5 <= age <= POLL_S + 1 for age in ages), f"{kind}: ages {min(ages)}..{max(ages)}"
    windows = {math.floor(ts / POLL_S) for ts, _ in points}
    first, fault_ends = math.floor(started / POLL_S), math.floor((started + FAULT_S) / POLL_S)
    assert max(windows, default=first - 1) >= fault_ends, f"{kind}: history stopped at the fault"
    missing = [w for w in range(first, max(windows) + 1) if w not in windows]
    assert not missing, f"{kind}: history has no point in {len(missing)} polling interval(s)"
    assert sim.stats.max_streams_open == 1

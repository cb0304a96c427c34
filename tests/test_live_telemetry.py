"""Live telemetry end to end: a host with the real driver, a simulated gateway over HTTPS.

An installer's token gets the meter stream, an owner's livedata, a gateway without CTs the
poll; `live_source` says which. Values move at the live rate while history keeps one point
per polling interval. Live runs while the device is watched: these tests watch it as an open
page would (`test_live_watched.py` covers the page itself, and nobody watching).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from gem_envoy.host.service import Host
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from gem_envoy.sim.faults import Fault
from tests.device_events import published
from tests.eventually import eventually

POLL_MS = 5_000  # the floor: history windows of 5 s


@dataclass
class Live:
    host: Host
    sim: SimServer
    device_id: int

    async def attributes(self) -> dict[str, AttributeValue]:
        stored = await self.host.store.get_attributes("device", self.device_id)
        return {name: a.value for name, a in stored.items()}

    async def source_is(self, source: str) -> bool:
        return (await self.attributes()).get("live_source") == source

    async def changes_of(self, name: str, seconds: float) -> list[float]:
        """When `name` changed on the host's event stream during `seconds`."""
        return [at for at, _ in await published(self.host.events, self.device_id, name, seconds)]


@asynccontextmanager
async def live_on(
    host: Host, options: SimOptions, user: str = "installer", **attributes: AttributeValue
) -> AsyncIterator[Live]:
    """A device on a simulator of its own, watched (as by an open page) for the block."""
    sim = await start_simulator(options)
    try:
        values: dict[str, AttributeValue] = {
            "ip": sim.host,
            "port": sim.port,
            "token": sim.mint_token(user, 400 * 86_400),  # no expiry warning
            "polling_interval": POLL_MS,
            **attributes,
        }
        name = f"envoy-{sim.port}"  # one host may follow several in a test
        device = await host.devices.create(name, "enphase_envoy", attributes=values)
        with host.supervisor.watchers.watching([device.id]):
            yield Live(host, sim, device.id)
    finally:
        await sim.close()


@pytest.fixture
async def installer(enphase_host: Host) -> AsyncIterator[Live]:
    async with live_on(enphase_host, SimOptions(phases=3, clock_power=True)) as live:
        yield live


async def test_an_installer_token_gets_the_meter_stream_each_second(installer: Live) -> None:
    await eventually(lambda: installer.source_is("stream"), what="live_source stream")
    started = time.time()
    changes = await installer.changes_of("production_now_w", 2.5 * POLL_MS / 1000)
    assert len(changes) >= 8  # one a second; a poll would have given two or three
    shown = await installer.attributes()
    for name in ("production_now_w", "consumption_now_w", "net_power_w"):
        assert {f"{name}_l1", f"{name}_l2", f"{name}_l3"} <= shown.keys()
    stats = installer.sim.stats
    assert stats.max_streams_open == 1
    # The poll leaves the power to the stream: /production.json only for the energy, once
    # a minute (the first cycle's read only, in this short test).
    assert stats.path_requests["/production.json"] <= 2
    # History: one mean per polling interval, not a point a second (2.5 intervals: two
    # windows closed, perhaps three).
    points = await installer.host.store.history(
        "device", installer.device_id, "production_now_w", started, None
    )
    assert 2 <= len(points) <= 3


async def test_an_owner_token_gets_livedata_switched_on(enphase_host: Host) -> None:
    # The gateway switches livedata off after 3 s here (15 minutes on a real one), and its
    # values then stand still: the driver switches it back on, and the values go on moving.
    options = SimOptions(clock_power=True, livedata_timeout_s=3, livedata_when_disabled="frozen")
    async with live_on(enphase_host, options, "owner") as live:
        await eventually(lambda: live.source_is("livedata"), what="live_source livedata")
        changes = await live.changes_of("production_now_w", 9)
        # Read every 2 s (four or five changes in 9 s), however often it is switched off; the
        # 5 s poll alone could give two at most.
        assert len(changes) >= 3
        assert live.sim.stats.path_requests["/ivp/livedata/stream"] >= 2  # on, off, on again
        assert "/stream/meter" not in live.sim.stats.path_requests  # an owner's would get a 401
        shown = await live.attributes()
        assert {"production_now_w_l1", "production_now_w_l2"} <= shown.keys()  # split phase
        assert "production_now_w_l3" not in shown


async def test_a_gateway_without_cts_and_the_live_switch_off_get_the_poll(
    enphase_host: Host,
) -> None:
    async with live_on(enphase_host, SimOptions(inverters=3, cts=False)) as live:
        await eventually(lambda: live.source_is("poll"), what="live_source poll")
        assert "production_now_w" in await live.attributes()
    async with live_on(enphase_host, SimOptions(inverters=3), live=False) as live:
        await eventually(lambda: live.source_is("poll"), what="live_source poll")
        await asyncio.sleep(1)
        paths = live.sim.stats.path_requests
        assert "/stream/meter" not in paths and "/ivp/livedata/status" not in paths


async def test_a_refused_stream_waits_for_a_new_token(enphase_host: Host) -> None:
    async with live_on(enphase_host, SimOptions(clock_power=True)) as live:
        await live.sim.set_fault(Fault("404", path="/stream/meter"))
        await eventually(lambda: live.source_is("livedata"), what="livedata instead")
        await live.sim.set_fault(None)
        attempts = live.sim.stats.path_requests["/stream/meter"]
        await asyncio.sleep(3)  # the refusal holds: no stream is asked for again
        assert await live.source_is("livedata")
        assert live.sim.stats.path_requests["/stream/meter"] == attempts
        new_token = live.sim.mint_token("installer", 400 * 86_400)
        await enphase_host.devices.set_attributes("device", live.device_id, {"token": new_token})
        await eventually(lambda: live.source_is("stream"), what="the stream with the new token")

"""An absurd reading from the gateway never reaches the attribute, the events or the history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gem_envoy.host.service import Host
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim import SimOptions, start_simulator
from gem_envoy.sim.faults import Fault
from tests.eventually import eventually
from tests.hostile import SpikingGateway
from tests.sim.helpers import NOON

LIFETIME = "production_lifetime_wh"


async def test_a_lifetime_spike_is_never_shown_nor_charted(enphase_host: Host) -> None:
    # A CT plant: its lifetime counter moves between /production.json reads with the
    # production CT's, read every cycle; that is the reading spiked.
    spiking = SpikingGateway(spike_at=2, path="/ivp/meters/readings")
    # A frozen plant (speed 0): every normal reading of the counter is the same.
    server = await start_simulator(SimOptions(inverters=6, speed=0), wrap=spiking.wrap)
    seen: list[float] = []
    try:
        token = server.mint_token("installer", 3600)
        attributes: dict[str, AttributeValue] = {
            "ip": server.host,
            "port": server.port,
            "token": token,
        }
        async with enphase_host.events.subscribe() as changes:
            device = await enphase_host.devices.create(
                "envoy",
                "enphase_envoy",
                attributes={**attributes, "polling_interval": 5000, "live": False},
            )
            async with asyncio.timeout(40):
                while spiking.served < 4:  # normal, spike, then two normal readings
                    change = await changes.get()
                    value = change.values.get(LIFETIME)
                    if isinstance(value, int | float):
                        seen.append(value)
                await asyncio.sleep(0.5)  # the last poll's write lands
        stored = (await enphase_host.store.get_attributes("device", device.id))[LIFETIME].value
        history = await enphase_host.store.history("device", device.id, LIFETIME, 0)
    finally:
        await server.close()
    normal = seen[0]
    assert normal < 1e9
    assert stored == normal
    assert max(seen) == normal  # no event ever carried the spike
    assert len(history) >= 3 and max(v for _, v in history) == normal


@pytest.mark.parametrize("fault", [Fault("reboot", seconds=1), Fault("skew", hours=5)])
async def test_the_guard_holds_through_a_reboot_and_a_clock_skew(
    enphase_host: Host, fault: Fault
) -> None:
    # Midday, a minute of sun each second: the counters move between polls.
    options = SimOptions(inverters=6, speed=60, start_time=NOON, utc_offset_s=0)
    server = await start_simulator(options)
    try:
        attributes: dict[str, AttributeValue] = {
            "ip": server.host,
            "port": server.port,
            "token": server.mint_token("installer", 3600),
            "polling_interval": 5000,
            "live": False,  # the counters come from the poll; each is counted
        }
        device = await enphase_host.devices.create("envoy", "enphase_envoy", attributes=attributes)

        async def points() -> list[float]:
            return [
                v for _, v in await enphase_host.store.history("device", device.id, LIFETIME, 0)
            ]

        await eventually(lambda: _at_least(points, 1), timeout_s=20)
        await server.set_fault(fault)
        await eventually(lambda: _at_least(points, 3), timeout_s=30)
        await server.set_fault(None)
        history = await points()
    finally:
        await server.close()
    # A rebooted gateway reports lower counters: held, never charted lower. A gateway whose
    # clock is off reports the same energy: adopted as usual, nothing refused.
    assert history == sorted(history)
    assert len(set(history)) >= 2 or fault.kind == "reboot"


async def _at_least(points: Callable[[], Awaitable[list[float]]], count: int) -> bool:
    return len(await points()) >= count

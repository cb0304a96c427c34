"""The storage CT stands in for the batteries' own power between their reads (`battery_ct`):
one native read a cycle fewer on a battery site with such a CT, and the same battery power."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gem_envoy.drivers.enphase_envoy.battery_ct import BATTERY_POWER_EVERY_S, BatteryCt
from gem_envoy.drivers.enphase_envoy.poller import CycleResult, GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.sim.helpers import NOON

INTERVAL_S = 5.0
CYCLES = 60  # five minutes of schedule
EVENING = NOON + 8 * 3600  # the battery discharges into the evening's load


class StepClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def battery_site(*, storage_ct: bool) -> SimServer:
    options = SimOptions(
        battery=True, storage_ct=storage_ct, start_time=EVENING, utc_offset_s=0, speed=0.0
    )
    return await start_simulator(options)


@pytest.fixture
async def with_ct() -> AsyncIterator[SimServer]:
    server = await battery_site(storage_ct=True)
    yield server
    await server.close()


@pytest.fixture
async def without_ct() -> AsyncIterator[SimServer]:
    server = await battery_site(storage_ct=False)
    yield server
    await server.close()


async def poll(server: SimServer, cycles: int) -> list[CycleResult]:
    client = EnvoyClient.connect_to(
        server.host, server.mint_token("installer", 3600), port=server.port
    )
    clock = StepClock()
    poller = GatewayPoller(client, clock=clock)
    results = []
    try:
        await poller.connect()
        server.stats.reset()
        for _ in range(cycles):
            results.append(await poller.cycle())
            clock.now += INTERVAL_S
    finally:
        await client.close()
    return results


def batteries_w(server: SimServer) -> float:
    plant = server.plant
    assert plant is not None
    return sum(plant.snapshot().battery_w)


async def test_the_ct_stands_in_between_reads_of_the_batteries(with_ct: SimServer) -> None:
    results = await poll(with_ct, CYCLES)
    reads = with_ct.stats.path_requests
    assert reads["/ivp/meters/readings"] == CYCLES
    assert reads["/ivp/ensemble/power"] == CYCLES * INTERVAL_S / BATTERY_POWER_EVERY_S
    expected = round(batteries_w(with_ct))
    assert expected > 500  # discharging into the evening's load
    for result in results:  # every cycle has the battery's power, from one source or the other
        assert result.device["battery_now_w"] == expected
        assert result.device["battery_state"] == "discharging"


async def test_without_a_storage_ct_the_batteries_are_read_every_cycle(
    without_ct: SimServer,
) -> None:
    results = await poll(without_ct, 12)
    assert without_ct.stats.path_requests["/ivp/ensemble/power"] == 12
    assert all(r.device["battery_now_w"] == round(batteries_w(without_ct)) for r in results)


def test_a_ct_that_disagrees_does_not_stand_in() -> None:
    ct = BatteryCt()
    assert not ct.stands_in(1500.0)  # not compared yet
    ct.compare(1500.0, 1480.0)
    assert ct.stands_in(1480.0)
    assert not ct.stands_in(None)  # no reading this cycle
    ct.compare(1500.0, -1500.0)  # wired the other way round
    assert not ct.stands_in(-1500.0)
    ct.compare(3000.0, 2500.0)  # 500 W off: more than a tenth
    assert not ct.stands_in(2500.0)
    ct.compare(40.0, -40.0)  # near idle, within 100 W either way
    assert ct.stands_in(-40.0)

"""The poll cycle's budget on each plant shape of the benchmark, held by `make test`.

The poller runs against an in-process simulator of each shape (plant frozen at noon) with a
clock that moves 5 s per cycle: 120 measured cycles are 10 minutes of schedule, the 5-minute
reads twice, in about a second of real time. Requests per cycle come from the simulator's
counters, as in `make bench` (docs/performance.md), whose pyenphase figures (2, 4 and 8
requests per cycle) the budgets are half of or under.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bench.shapes import SHAPES, Shape

from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.sim.helpers import NOON

INTERVAL_S = 5.0
WARMUP = 5
CYCLES = 120
# Requests per cycle: production-only reads one endpoint a cycle (pyenphase 2: the goal is
# half); the CT plants read the CTs' readings every cycle (power, and the counters moved on
# between reports) and /production.json and the inverter list every 5 minutes, plus with an
# Encharge its own power every 30 s (the storage CT stands in between, see battery_ct) and
# its totals and settings each minute.
BUDGET = {"production_only": 1.0, "ct": 1.05, "ct_battery": 1.4}
SLACK = 1e-9  # the production-only budget is exact: one request more in 10 minutes fails it
# On the CT plants, over the 10 measured minutes: the slow CGI at its 5-minute pace (at most
# 3 reads, wherever the drawn first gap falls), the native readings every cycle.
REPORTS_AT_MOST = 3


class StepClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=SHAPES, ids=[shape.name for shape in SHAPES])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Shape, SimServer]]:
    shape: Shape = request.param
    options = SimOptions(
        inverters=shape.inverters,
        cts=shape.cts,
        battery=shape.battery,
        start_time=NOON,
        utc_offset_s=0,
        speed=0.0,
    )
    server = await start_simulator(options)
    try:
        yield shape, server
    finally:
        await server.close()


async def _run(server: SimServer) -> float:
    """Requests per cycle over the measured cycles (the simulator's counts stay in
    `server.stats`)."""
    token = server.mint_token("installer", 3600)
    client = EnvoyClient.connect_to(server.host, token, port=server.port)
    clock = StepClock()
    poller = GatewayPoller(client, zones=_serials(server), clock=clock)
    try:
        await poller.connect()
        for _ in range(WARMUP):
            await poller.cycle()
            clock.now += INTERVAL_S
        server.stats.reset()
        for _ in range(CYCLES):
            await poller.cycle()
            clock.now += INTERVAL_S
    finally:
        await client.close()
    return sum(server.stats.requests.values()) / CYCLES


def _serials(server: SimServer) -> list[str]:
    plant = server.plant
    assert plant is not None
    return [inverter.serial for inverter in plant.inverters]


async def test_requests_per_cycle_stay_in_budget(gateway: tuple[Shape, SimServer]) -> None:
    shape, server = gateway
    per_cycle = await _run(server)
    assert per_cycle <= BUDGET[shape.name] + SLACK, f"{shape.name}: {per_cycle:.4f} per cycle"
    if shape.cts:
        reads = server.stats.path_requests
        assert reads["/production.json"] <= REPORTS_AT_MOST, dict(reads)
        assert reads["/ivp/meters/readings"] == CYCLES, dict(reads)

"""On a plant with CTs, the CTs' readings stand in for `/production.json` between its
5-minute reads: power every cycle from `/ivp/meters/readings`, and the today/lifetime
counters moved on by the CTs' own counters, so that they stay as current as the gateway's.

Real sockets against the simulator, whose plant is frozen between cycles (speed 0) and moved
on 5 s a cycle with the poller's clock; the gateway's own counters are read off its plant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from gem_envoy.drivers.enphase_envoy.derive import Attributes
from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from gem_envoy.sim.synthetic import SyntheticSource
from tests.sim.helpers import MIDNIGHT, NOON

CYCLE_S = 5.0
COUNTERS = {
    "production_today_wh": "production_today_wh",
    "production_lifetime_wh": "production_wh",
    "consumption_today_wh": "consumption_today_wh",
    "consumption_lifetime_wh": "consumption_wh",
}
REPORT = "/production.json"
READINGS = "/ivp/meters/readings"


class Gateway:
    """A simulated gateway and a poller whose clocks move together."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        source = server.source
        assert isinstance(source, SyntheticSource)
        self.source = source
        self.client = EnvoyClient.connect_to(
            server.host, server.mint_token("installer", 3600), port=server.port
        )
        self.now = 0.0
        self.poller = GatewayPoller(
            self.client,
            clock=lambda: self.now,
            jitter=lambda: 0.999999,  # the next report a full period after the first
            today=self.today,
        )

    def today(self) -> date:  # the plant runs on UTC
        return datetime.fromtimestamp(self.source.clock.now(), UTC).date()

    def step(self) -> None:
        self.now += CYCLE_S
        self.source.clock.start += CYCLE_S

    def reads(self, path: str) -> int:
        return self.server.stats.path_requests.get(path, 0)

    def own(self) -> dict[str, float]:
        """The gateway's own counters now."""
        counters = self.source.snapshot().counters
        return {name: getattr(counters, field) for name, field in COUNTERS.items()}


async def _gateway(start: float, battery: bool) -> AsyncIterator[Gateway]:
    options = SimOptions(battery=battery, start_time=start, utc_offset_s=0, speed=0.0)
    server = await start_simulator(options)
    gateway = Gateway(server)
    try:
        await gateway.poller.connect()
        yield gateway
    finally:
        await gateway.client.close()
        await server.close()


@pytest.fixture(params=[False, True], ids=["ct", "ct_battery"])
async def at_noon(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    async for gateway in _gateway(NOON, request.param):
        yield gateway


@pytest.fixture
async def before_midnight() -> AsyncIterator[Gateway]:
    async for gateway in _gateway(MIDNIGHT + 86400 - 120, battery=False):
        yield gateway


def _counters(device: Attributes) -> dict[str, float]:
    return {name: float(device[name]) for name in COUNTERS}


async def test_the_counters_keep_up_with_the_gateways_between_its_reports(
    at_noon: Gateway,
) -> None:
    gateway, seen = at_noon, []
    for _ in range(130):  # 10 minutes and more at 5 s
        before = gateway.reads(REPORT)
        device = (await gateway.poller.cycle()).device
        seen.append((gateway.reads(REPORT) > before, _counters(device)))
        for name, own in gateway.own().items():  # as current as the gateway's, every cycle
            assert device[name] == pytest.approx(own, abs=1.5), name
        assert float(device["production_now_w"]) > 0 and "consumption_now_w" in device
        gateway.step()
    assert gateway.reads(REPORT) == 3  # at 0, 5 and 10 minutes
    assert gateway.reads(READINGS) == 130
    between = [counters for fresh, counters in seen[1:60]]  # moving between two reports
    for name in COUNTERS:
        assert between[-1][name] > between[0][name], name


async def test_a_new_day_starts_from_the_gateways_own_today_counters(
    before_midnight: Gateway,
) -> None:
    gateway = before_midnight
    days, reports = [], []
    for _ in range(60):  # 23:58 to 00:03
        before = gateway.reads(REPORT)
        device = (await gateway.poller.cycle()).device
        days.append(gateway.today())
        reports.append(gateway.reads(REPORT) > before)
        for name, own in gateway.own().items():
            assert device[name] == pytest.approx(own, abs=1.5), name
        gateway.step()
    first_of_day = days.index(days[-1])
    assert first_of_day > 0
    # Read at connect, then in the first cycle of the new day (the 5-minute pace was not due).
    assert [i for i, fresh in enumerate(reports) if fresh] == [0, first_of_day]

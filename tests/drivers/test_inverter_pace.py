"""The paces of a site without CTs, over a real capture served from memory: one request a
cycle after the first, power now from the later of `/production.json` (INV) and
`/api/v1/production` (V1), each value as the attribute contract defines it."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from gem_envoy.drivers.enphase_envoy.poller import CycleResult, GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport, captured_body

NO_CTS = "7.6.114_without_cts"
CTS_AND_BATTERY = "8.1.41"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _cycles(
    transport: CaptureTransport, clock: Clock, times: list[float]
) -> list[tuple[CycleResult, Counter[str]]]:
    """A cycle at each of `times`, with the requests each one made."""
    client = EnvoyClient(transport, transport.mint("installer"))
    poller = GatewayPoller(client, all_zones=True, clock=clock)
    await poller.connect()
    out = []
    for at in times:
        clock.now = at
        before = Counter(transport.requests)
        result = await poller.cycle()
        out.append((result, Counter(transport.requests) - before))
    return out


def _body(name: str) -> Any:
    """The captured JSON of endpoint file `name`."""
    return json.loads(captured_body(NO_CTS, name))


async def test_one_request_a_cycle_after_the_first() -> None:
    cycles = await _cycles(capture_transport(NO_CTS), Clock(), [0, 5, 10, 300, 305, 310, 600])
    made = [sorted(requests) for _, requests in cycles]
    # The first cycle reads everything (`?details=1` too, until the phases are known).
    assert {target.partition("?")[0] for target in made[0]} == {
        "/api/v1/production", "/api/v1/production/inverters", "/production.json",
    }  # fmt: skip
    assert made[1:] == [
        ["/api/v1/production"],
        ["/api/v1/production"],
        ["/production.json"],  # its 5 minutes are up: V1 waits a cycle
        ["/api/v1/production/inverters"],  # the list's too, a cycle later than due
        ["/api/v1/production"],
        ["/production.json"],
    ]
    # The inverter list keeps its cycle after /production.json: the zones come then.
    assert [result.zones is not None for result, _ in cycles] == [
        True, False, False, False, True, False, False,
    ]  # fmt: skip


async def test_power_now_comes_from_the_later_read_as_the_contract_defines_it() -> None:
    cycles = await _cycles(capture_transport(NO_CTS), Clock(), [0, 5, 300, 305])
    inv = next(e for e in _body("production.json")["production"] if e["type"] == "inverters")
    v1 = _body("api_v1_production")
    first, between, report, after_report = (result.device for result, _ in cycles)
    assert first["production_now_w"] == round(inv["wNow"])  # INV, read this cycle
    assert "last_report_time" in first
    assert between["production_now_w"] == round(v1["wattsNow"])
    assert "last_report_time" not in between  # only INV carries it: left as last reported
    assert report["production_now_w"] == round(inv["wNow"])
    assert after_report["production_now_w"] == round(v1["wattsNow"])
    for device in (first, between, report, after_report):
        assert device["inverter_count"] == inv["activeCount"]
        assert device["production_lifetime_wh"] == round(inv["whLifetime"])
        assert device["production_today_wh"] == round(v1["wattHoursToday"])


async def test_a_metered_site_reads_production_json_every_cycle() -> None:
    cycles = await _cycles(capture_transport(CTS_AND_BATTERY), Clock(), [0, 5, 10, 300])
    assert all(requests["/production.json"] == 1 for _, requests in cycles)
    assert all(requests["/api/v1/production"] == 0 for _, requests in cycles)

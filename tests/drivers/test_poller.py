"""The poll cycle's pace over real captures served from memory: what each cycle asks the
gateway, over hours of simulated time, in milliseconds of real time."""

from __future__ import annotations

from dataclasses import dataclass

from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport

CTS_AND_BATTERY = "8.1.41"  # production and consumption CTs, Encharges, 44 inverters
NO_CTS = "7.6.114_without_cts"


@dataclass
class Clock:
    """Monotonic seconds that the test moves on."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def poller_for(
    transport: CaptureTransport,
    clock: Clock,
    user: str = "installer",
    *,
    zones: list[str] | None = None,
    all_zones: bool = False,
) -> GatewayPoller:
    client = EnvoyClient(transport, transport.mint(user))
    return GatewayPoller(client, zones=zones, all_zones=all_zones, clock=clock)


async def test_battery_power_is_read_every_cycle_and_its_totals_once_a_minute() -> None:
    transport, clock = capture_transport(CTS_AND_BATTERY), Clock()
    poller = poller_for(transport, clock)
    await poller.connect()
    results = []
    for _ in range(15):  # 70 s at 5 s
        results.append(await poller.cycle())
        clock.now += 5
    assert all(r.device["battery_soc_percent"] == 92.0 for r in results)
    assert transport.requests["/production.json"] == 15
    assert transport.requests["/ivp/ensemble/power"] == 15
    assert transport.requests["/ivp/ensemble/secctrl"] == 2  # at 0 s and at 60 s
    assert transport.stats.check_jwt == 1  # one session for all of them


async def test_without_a_production_ct_production_json_is_read_at_the_inverters_pace() -> None:
    # Every production figure is a sum of the inverters' 5-minute reports: /api/v1/production
    # (power now, today) every cycle, /production.json (count, lifetime) every 5 minutes.
    transport, clock = capture_transport(NO_CTS), Clock()
    poller = poller_for(transport, clock)
    await poller.connect()
    results = []
    for _ in range(10):  # 9 minutes at 1 minute
        results.append(await poller.cycle())
        clock.now += 60
    assert all(r.device["production_today_wh"] == 10363 for r in results)
    assert transport.requests["/production.json"] == 2  # at 0 and at 5 minutes
    # Every cycle but the one at 5 minutes, which reads /production.json instead.
    assert transport.requests["/api/v1/production"] == 9
    assert {r.device["inverter_count"] for r in results} == {results[0].device["inverter_count"]}


async def test_the_inverter_list_is_read_every_five_minutes_and_only_for_zones() -> None:
    transport, clock = capture_transport(CTS_AND_BATTERY), Clock()
    poller = poller_for(transport, clock)
    await poller.connect()
    assert (await poller.cycle()).zones is None
    assert "/api/v1/production/inverters" not in transport.requests

    poller.set_zones(["202314072546"])
    zones = [(await poller.cycle()).zones]
    for _ in range(6):  # until 6 minutes
        clock.now += 60
        zones.append((await poller.cycle()).zones)
    assert transport.requests["/api/v1/production/inverters"] == 2  # at 0 and at 5 minutes
    assert [z is not None for z in zones] == [True, False, False, False, False, True, False]
    assert zones[0] == {
        "202314072546": {
            "last_w": 307,
            "max_w": 319,
            "state": "307",
            "last_report_time": "2023-08-18T19:10:44Z",
        }
    }


async def test_zones_added_meanwhile_are_filled_from_the_last_list() -> None:
    transport, clock = capture_transport(CTS_AND_BATTERY), Clock()
    poller = poller_for(transport, clock, zones=["202314072546"])
    await poller.connect()
    await poller.cycle()
    clock.now += 10
    poller.set_zones(["202314072546", "202314071516"])
    added = await poller.cycle()
    assert added.zones is not None and sorted(added.zones) == ["202314071516", "202314072546"]
    assert transport.requests["/api/v1/production/inverters"] == 1


async def test_static_data_is_read_at_connect_and_then_hourly() -> None:
    transport, clock = capture_transport(CTS_AND_BATTERY), Clock()
    poller = poller_for(transport, clock)
    await poller.connect()
    for _ in range(13):  # an hour at 5 minutes
        await poller.cycle()
        clock.now += 300
    assert transport.requests["/info"] == 2
    assert transport.requests["/ivp/ensemble/inventory"] == 2


async def test_endpoints_the_token_may_not_read_are_set_aside_until_a_new_token() -> None:
    transport, clock = capture_transport(CTS_AND_BATTERY), Clock()
    poller = poller_for(transport, clock, "owner", all_zones=True)
    await poller.connect()  # the battery inventory needs an installer: refused (403)
    first = await poller.cycle()
    assert first.zones == {}  # the list cannot be read: no zone has current values
    assert any("403" in note for note in first.notes)
    for _ in range(3):
        clock.now += 300
        later = await poller.cycle()
        assert later.zones == {} and later.notes == ()
    assert transport.requests["/api/v1/production/inverters"] == 1  # asked once, not hourly
    assert transport.requests["/ivp/ensemble/inventory"] == 1
    assert "battery_now_w" not in later.device  # no inventory: no Encharge known

    poller.client.set_token(transport.mint("installer"))
    poller.forget_capabilities()
    clock.now += 300
    after = await poller.cycle()
    assert after.zones is not None and len(after.zones) == 44
    assert transport.requests["/api/v1/production/inverters"] == 2

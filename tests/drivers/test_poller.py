"""The poll cycle's pace over real captures served from memory: what each cycle asks the
gateway, over hours of simulated time, in milliseconds of real time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.paths import METER_READINGS, METERS
from gem_envoy.envoy.transport_protocol import Response
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport

CTS_AND_BATTERY = "8.1.41"  # production and consumption CTs, Encharges, 44 inverters
NO_CTS = "7.6.114_without_cts"
# Production, net and storage CTs in /ivp/meters, with their readings; Encharges.
THREE_CTS = "8.2.127_with_3cts_and_battery_split"
DISABLED_CTS = "7.3.466_metered_disabled_cts"  # a metering board whose CTs are disabled
CT_ENERGY = {
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
    "battery_charged_lifetime_wh",
    "battery_discharged_lifetime_wh",
}
POWER = frozenset({"production_now_w", "consumption_now_w", "net_power_w", "battery_now_w"})


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
    # The second inverter list a full period after the first, as every later one: its
    # drawn gap has tests of its own (test_inverter_jitter).
    full_period = 0.999999
    return GatewayPoller(
        client, zones=zones, all_zones=all_zones, clock=clock, jitter=lambda: full_period
    )


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


async def test_with_a_production_ct_its_readings_every_cycle_the_report_every_5_minutes() -> None:
    """The CTs' readings give the power every cycle and /production.json comes every
    5 minutes; the CT list hourly."""
    transport, clock = capture_transport(THREE_CTS), Clock()
    poller = poller_for(transport, clock)
    await poller.connect()
    results = []
    for _ in range(15):  # 70 s at 5 s
        results.append(await poller.cycle())
        clock.now += 5
    assert all(r.device.keys() >= CT_ENERGY | {"production_now_w"} for r in results)
    assert transport.requests[METER_READINGS] == 15
    assert transport.requests["/production.json"] == 1
    assert transport.requests[METERS] == 1
    for _ in range(12):  # on to an hour, at 5 minutes
        clock.now += 300
        await poller.cycle()
    assert transport.requests[METERS] == 2  # at connect and an hour later, with /info
    assert transport.requests[METER_READINGS] == 15 + 12
    assert transport.requests["/production.json"] == 1 + 12


async def test_the_cts_energy_keeps_its_pace_while_live_supplies_the_power() -> None:
    transport, clock = capture_transport(THREE_CTS), Clock()
    poller = poller_for(transport, clock)
    poller.live = POWER
    await poller.connect()
    for _ in range(15):  # 70 s at 5 s
        result = await poller.cycle()
        clock.now += 5
        assert result.device.keys() >= CT_ENERGY
        assert not POWER & result.device.keys()
    assert transport.requests[METER_READINGS] == 2  # the energy counters' minute
    assert transport.requests["/production.json"] == 1  # the readings move its counters on


async def test_no_ct_energy_is_asked_where_no_ct_could_give_it() -> None:
    unmetered, clock = capture_transport(NO_CTS), Clock()  # no metering board, no active CT
    poller = poller_for(unmetered, clock)
    await poller.connect()
    assert not CT_ENERGY & (await poller.cycle()).device.keys()
    assert METERS not in unmetered.requests and METER_READINGS not in unmetered.requests

    disabled, clock = capture_transport(DISABLED_CTS), Clock()
    poller = poller_for(disabled, clock)
    await poller.connect()
    for _ in range(3):
        assert not CT_ENERGY & (await poller.cycle()).device.keys()
        clock.now += 60
    assert disabled.requests[METERS] == 1  # the list says: no enabled net or storage CT
    assert METER_READINGS not in disabled.requests


class HtmlReadings(CaptureTransport):
    """A capture whose CT readings answer with an HTML page while `broken`."""

    broken = True

    async def get(self, path: str, headers: Mapping[str, str]) -> Response:
        if path == METER_READINGS and self.broken:
            self.stats.request_started(path, "GET")
            return Response(200, b"<html><body>Envoy</body></html>", "text/html", ())
        return await super().get(path, headers)


async def test_unreadable_ct_readings_fail_nothing_and_are_tried_a_minute_later() -> None:
    plain, clock = capture_transport(THREE_CTS), Clock()
    transport = HtmlReadings(plain.source.folder)
    poller = poller_for(transport, clock)
    await poller.connect()
    first = await poller.cycle()
    assert "production_now_w" in first.device and not CT_ENERGY & first.device.keys()
    assert any(METER_READINGS in note for note in first.notes)
    clock.now += 30
    await poller.cycle()
    assert transport.requests[METER_READINGS] == 1  # not asked again every cycle

    transport.broken = False
    clock.now += 30
    assert (await poller.cycle()).device.keys() >= CT_ENERGY
    transport.broken = True
    clock.now += 60
    kept = await poller.cycle()  # a bad answer keeps the last counters, which are still true
    assert kept.device.keys() >= CT_ENERGY
    assert transport.requests[METER_READINGS] == 3


async def test_with_an_active_ac_battery_the_report_stays_every_cycle() -> None:
    """An ACB's power, charge and state are only in /production.json: on a plant with one
    the CTs' readings do not stand in for it, and are read for their energy once a minute."""
    transport, clock = capture_transport("8.2.4382_ACB"), Clock()
    poller = poller_for(transport, clock)
    await poller.connect()
    for _ in range(4):
        assert "battery_now_w" in (await poller.cycle()).device
        clock.now += 5
    assert transport.requests["/production.json"] == 4
    assert transport.requests[METER_READINGS] == 1

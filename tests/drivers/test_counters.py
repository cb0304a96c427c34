"""Counters that a rebooted gateway sends backwards are held, never reported lower."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gem_envoy.drivers.enphase_envoy.counter_advance import zone_day_of
from gem_envoy.drivers.enphase_envoy.counters import CounterGuard
from gem_envoy.drivers.enphase_envoy.derive import Attributes
from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.host.contract import DeviceConfig
from tests.fakes import RecordingSink

NOON = datetime(2026, 6, 1, 12, 0).timestamp()
NEXT_MORNING = datetime(2026, 6, 2, 0, 5).timestamp()


def guard_at(moment: list[float]) -> CounterGuard:
    return CounterGuard(clock=lambda: moment[0])


def test_lifetime_drop_is_held_until_the_gateway_passes_it() -> None:
    now = [NOON]
    guard = guard_at(now)
    assert guard.apply({"production_lifetime_wh": 5_000_000})["production_lifetime_wh"] == 5_000_000
    rebooted = guard.apply({"production_lifetime_wh": 4_900_000, "production_now_w": 800})
    assert rebooted == {"production_lifetime_wh": 5_000_000, "production_now_w": 800}
    assert guard.apply({"production_lifetime_wh": 5_000_100})["production_lifetime_wh"] == 5_000_100


def test_today_may_fall_only_on_a_new_local_day() -> None:
    now = [NOON]
    guard = guard_at(now)
    guard.apply({"production_today_wh": 12_000})
    assert guard.apply({"production_today_wh": 0})["production_today_wh"] == 12_000
    now[0] = NEXT_MORNING
    assert guard.apply({"production_today_wh": 15})["production_today_wh"] == 15


def test_seeded_lifetime_survives_a_host_restart() -> None:
    guard = guard_at([NOON])
    guard.seed({"consumption_lifetime_wh": 9_000_000, "consumption_today_wh": 5})
    assert (
        guard.apply({"consumption_lifetime_wh": 8_000_000})["consumption_lifetime_wh"] == 9_000_000
    )
    assert guard.apply({"consumption_today_wh": 1})["consumption_today_wh"] == 1


def test_other_attributes_pass_untouched() -> None:
    guard = guard_at([NOON])
    attrs: Attributes = {"net_power_w": -300, "battery_state": "idle"}
    assert guard.apply(attrs) == attrs
    assert guard.apply({"net_power_w": -900})["net_power_w"] == -900


CT_ENERGY = (
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
    "battery_charged_lifetime_wh",
    "battery_discharged_lifetime_wh",
)


def test_the_cts_energy_counters_are_held_through_a_reboot() -> None:
    now = [NOON]
    guard = guard_at(now)
    before: Attributes = dict.fromkeys(CT_ENERGY, 2_000_000)
    assert guard.apply(before) == before
    now[0] += 60
    assert guard.apply(dict.fromkeys(CT_ENERGY, 1_500_000)) == before  # rebooted lower
    now[0] += 60
    passed: Attributes = dict.fromkeys(CT_ENERGY, 2_000_050)
    assert guard.apply(passed) == passed


def test_impossible_ct_energy_is_refused_and_a_stored_one_seeds_the_guard() -> None:
    guard = guard_at([NOON])
    guard.seed({"grid_export_lifetime_wh": 700_000})
    refused = guard.apply({"grid_import_lifetime_wh": -5, "battery_charged_lifetime_wh": 9e18})
    assert refused == {}
    assert guard.apply({"grid_export_lifetime_wh": 600_000}) == {"grid_export_lifetime_wh": 700_000}


def test_today_falls_at_the_gateways_midnight_not_the_hosts() -> None:
    # A plant ten hours ahead of UTC: its day starts at 14:00 UTC.
    before = datetime(2026, 6, 1, 13, 55, tzinfo=UTC).timestamp()
    after = datetime(2026, 6, 1, 14, 5, tzinfo=UTC).timestamp()
    now = [before]
    guard = CounterGuard(clock=lambda: now[0], day_of=zone_day_of("Australia/Brisbane"))
    guard.apply({"consumption_today_wh": 18_000})
    now[0] = after
    assert guard.apply({"consumption_today_wh": 40})["consumption_today_wh"] == 40
    # and within one gateway day a drop is still held
    assert guard.apply({"consumption_today_wh": 10})["consumption_today_wh"] == 40


def test_the_driver_keeps_today_by_the_plants_time_zone() -> None:
    attributes = {"ip": "127.0.0.1", "token": "x", "time_zone": "Asia/Tokyo"}
    driver = EnphaseEnvoyDriver(DeviceConfig(1, "envoy", attributes), RecordingSink())
    moment = datetime(2026, 6, 1, 16, 5, tzinfo=UTC).timestamp()  # 01:05 on June 2 in Tokyo
    assert driver._counters.day_of(moment) == date(2026, 6, 2)

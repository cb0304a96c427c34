"""The section 2 rules on the CTs' readings, and the counters moved on by them (pure)."""

from __future__ import annotations

from datetime import date

from gem_envoy.drivers.enphase_envoy.counter_advance import CounterAdvance
from gem_envoy.drivers.enphase_envoy.ct_readings import (
    ct_readings,
    energy_counters,
    power_attributes,
)
from gem_envoy.drivers.enphase_envoy.values import Attributes
from gem_envoy.envoy.models import MeterConfig, MeterReading

DAY = date(2024, 6, 1)


def meter(eid: int, kind: str, state: str = "enabled") -> MeterConfig:
    return MeterConfig(eid, state, kind, "single", 1)


def reading(eid: int, watts: float, dlvd: float, rcvd: float = 0.0) -> MeterReading:
    return MeterReading(eid, 1717243200, watts, dlvd, rcvd, 230.0, None, 50.0)


def test_a_total_ct_that_repeats_the_net_ct_is_replaced_by_net_plus_production() -> None:
    meters = (meter(1, "production"), meter(2, "net-consumption"), meter(3, "total-consumption"))
    readings = (reading(1, 3000, 5000), reading(2, -1000, 800, 900), reading(3, -1000, 800))
    ct = ct_readings(meters, readings)
    assert ct is not None
    attrs = power_attributes(ct)
    assert attrs == {"production_now_w": 3000, "consumption_now_w": 2000, "net_power_w": 1000}
    assert energy_counters(ct) == {"production": 5000, "consumption": 5000 + 800 - 900}


def test_without_an_enabled_production_ct_the_readings_cannot_stand_in() -> None:
    meters = (meter(1, "production", "disabled"), meter(2, "net-consumption"))
    assert ct_readings(meters, (reading(1, 3000, 5000), reading(2, 10, 1))) is None


def test_counters_move_with_the_ct_never_down_and_today_not_past_midnight() -> None:
    advance = CounterAdvance()
    report: Attributes = {"production_today_wh": 100, "production_lifetime_wh": 9000}
    advance.anchor(report, {"production": 5000.0}, DAY)
    assert advance.advanced({"production": 5012.4}, DAY) == {
        "production_today_wh": 112,
        "production_lifetime_wh": 9012,
    }
    assert advance.advanced({"production": 4000.0}, DAY) == report  # a CT reset: held
    next_day = date(2024, 6, 2)
    assert advance.advanced({"production": 5020.0}, next_day) == {"production_lifetime_wh": 9020}

"""Values no plant can report are refused; impossible jumps wait for a second reading."""

from __future__ import annotations

from datetime import datetime

from gem_envoy.drivers.enphase_envoy.counters import CounterGuard
from gem_envoy.drivers.enphase_envoy.plausible import PlantBounds

NOON = datetime(2026, 6, 1, 12, 0).timestamp()
LIFETIME = "production_lifetime_wh"


def guard_at(moment: list[float]) -> CounterGuard:
    return CounterGuard(clock=lambda: moment[0])


def test_an_absurd_lifetime_is_never_shown_nor_held() -> None:
    now = [NOON]
    guard = guard_at(now)
    assert guard.apply({LIFETIME: 5_000_000, "inverter_count": 12})[LIFETIME] == 5_000_000
    now[0] += 30
    spiked = guard.apply({LIFETIME: 9e18, "production_now_w": 2400})
    assert LIFETIME not in spiked  # the stored value stays as it was
    assert spiked["production_now_w"] == 2400  # the rest of the reading is kept
    for step in (5_000_020, 5_000_040):
        now[0] += 30
        assert guard.apply({LIFETIME: step})[LIFETIME] == step  # not pinned at 9e18


def test_negative_energy_is_refused_even_as_the_first_reading() -> None:
    guard = guard_at([NOON])
    reading = guard.apply({LIFETIME: -5, "consumption_today_wh": -1, "net_power_w": -900})
    assert reading == {"net_power_w": -900}  # import is negative power, and possible


def test_power_beyond_the_plants_size_is_refused() -> None:
    guard = guard_at([NOON])
    guard.apply({"inverter_count": 12, "production_now_w": 3000})
    assert "production_now_w" not in guard.apply({"production_now_w": 40_000_000})
    assert "production_now_w" not in guard.apply({"production_now_w": 13_000})  # 12 x 1 kW
    assert guard.apply({"production_now_w": 4_000})["production_now_w"] == 4_000
    assert "battery_soc_percent" not in guard.apply({"battery_soc_percent": 140.0})


def test_an_impossible_jump_is_held_until_a_second_reading_confirms_it() -> None:
    now = [NOON]
    guard = guard_at(now)
    guard.apply({LIFETIME: 5_000_000, "inverter_count": 10})
    now[0] += 60
    # 10 inverters cannot make 1 MWh in a minute: held, not adopted.
    assert guard.apply({LIFETIME: 6_000_000})[LIFETIME] == 5_000_000
    now[0] += 60
    # The next reading goes on from the jump at a possible pace: the jump was real.
    assert guard.apply({LIFETIME: 6_000_050})[LIFETIME] == 6_000_050


def test_a_lone_jump_that_the_next_reading_contradicts_is_never_adopted() -> None:
    now = [NOON]
    guard = guard_at(now)
    guard.apply({LIFETIME: 5_000_000, "inverter_count": 10})
    for value in (7_000_000, 5_000_100, 5_000_200):
        now[0] += 60
        shown = guard.apply({LIFETIME: value})[LIFETIME]
        assert isinstance(shown, int) and shown <= 5_000_200
    assert shown == 5_000_200


def test_a_catch_up_after_a_long_outage_is_adopted_at_once() -> None:
    now = [NOON]
    guard = guard_at(now)
    guard.apply({LIFETIME: 5_000_000, "inverter_count": 10})
    now[0] += 6 * 3600  # the host was down for six hours; the plant went on producing
    assert guard.apply({LIFETIME: 5_030_000})[LIFETIME] == 5_030_000


def test_an_absurd_stored_value_is_not_seeded() -> None:
    now = [NOON]
    guard = guard_at(now)
    guard.seed({LIFETIME: 9e18, "inverter_count": 12})
    assert guard.apply({LIFETIME: 5_000_000})[LIFETIME] == 5_000_000


def test_bounds_are_generous_for_real_sites() -> None:
    bounds = PlantBounds(inverters=40)
    assert bounds.why_impossible("production_now_w", 16_000) is None  # 40 x 400 W
    assert bounds.why_impossible(LIFETIME, 400_000_000) is None  # 400 MWh: a big, old site
    assert bounds.why_impossible("consumption_now_w", 60_000) is None  # a large home
    assert bounds.why_impossible("production_now_w", -5) is None  # inverters at night

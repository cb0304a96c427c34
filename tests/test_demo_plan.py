"""The demo's sunny day and its generated past (`cli.demo_clock`, `demo_history`,
`demo_plant`), in process: what the charts will show, and that the live plant runs on from
it without a step."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest

from gem_envoy.cli.demo_clock import DemoDay, demo_day_at, demo_notice
from gem_envoy.cli.demo_history import device_values, simulate_history
from gem_envoy.cli.demo_plant import COUNTERS, DemoPlan, device_history, plan_plant
from gem_envoy.drivers import DRIVERS
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import NotFoundError, Store
from gem_envoy.sim.plant import Plant, PlantConfig

DAY = 86_400.0
CHARTED = DRIVERS["enphase_envoy"].metadata().history_names()
# What the Charts page draws (drivers/enphase_envoy/web/history.js).
CHART_LINES = {
    "production_now_w",
    "consumption_now_w",
    "net_power_w",
    "battery_now_w",
    "battery_soc_percent",
}


def at(hour: int, utc_offset_h: int = 1) -> dt.datetime:
    zone = dt.timezone(dt.timedelta(hours=utc_offset_h))
    return dt.datetime(2026, 12, 1, hour, 17, tzinfo=zone)


@pytest.mark.parametrize(
    ("hour", "shift"), [(23, -12), (0, 11), (3, 8), (8, 3), (9, 0), (15, 0), (16, -5), (20, -9)]
)
def test_outside_daylight_the_plant_lives_where_it_is_late_morning(hour: int, shift: int) -> None:
    day = demo_day_at(at(hour))
    assert day == DemoDay(3600, shift)
    plant_hour = day.plant_time(at(hour).timestamp()).hour
    assert plant_hour == (11 if shift else hour)


def test_the_notice_says_the_clock_and_the_past_are_simulated() -> None:
    now = at(23).timestamp()
    assert demo_notice(demo_day_at(at(23)), now, 7) == (
        "Demo: the simulated gateway's clock runs 12 hours behind this computer's "
        "(11:17 there at start), so that there is sun to see at any hour; its history of "
        "the last 7 days was simulated at start."
    )
    assert demo_notice(demo_day_at(at(10)), now, 0) == "Demo: the gateway is simulated."


async def _plan(db: Path, now: float) -> tuple[DemoPlan, int]:
    async with await Store.open(db, KeyRing.load_or_create(db)) as store:
        plan = await plan_plant(store, "envoy", now)
        try:
            device = await store.get_device("envoy")
        except NotFoundError:
            device = await store.add_device("envoy", "enphase_envoy")
        if plan.history is not None:
            await store.add_history(device_history(plan.history, device.id, CHARTED))
        return plan, device.id


def _live_at(plan: DemoPlan, now: float) -> dict[str, float]:
    """What the simulator started with the plan's options reports at ``now``."""
    plant = Plant(plan.options.plant_config(), now)
    return device_values(plant, plant.snapshot())


def test_a_first_run_charts_400_days_that_the_live_plant_goes_on_from(tmp_path: Path) -> None:
    now = time.time()
    began = time.perf_counter()
    plan, _ = asyncio.run(_plan(tmp_path / "gem.db", now))
    elapsed = time.perf_counter() - began
    history = plan.history
    assert history is not None and plan.options.utc_offset_s == plan.day.utc_offset_s
    assert CHART_LINES <= set(history.device) <= CHARTED
    assert len(history.inverters) == 12
    production = history.device["production_now_w"]
    assert now - 400 * DAY < production[0][0] < now - 400 * DAY + 3600  # hourly, then
    assert now - 60 <= production[-1][0] < now
    last_day = [t for t, _ in production if t > now - DAY]
    assert len(last_day) >= 1400  # every minute over the chart of the last 24 hours
    last_days = [t for t, _ in production if now - 10 * DAY < t <= now - DAY]
    assert 9 * 288 - 2 <= len(last_days) <= 9 * 288 + 2  # every 5 minutes before it
    assert len(production) < 400 * 24 + 10 * 288 + 1440  # and hourly before 10 days
    assert max(v for _, v in production) > 2000 and min(v for _, v in production) == 0
    print(f"400 days of demo history: {history.points} points, generated and stored in "
          f"{elapsed:.2f} s")  # fmt: skip
    assert elapsed < 30
    for name in ("production", "consumption", "grid_import", "grid_export"):
        counter = [v for _, v in history.device[f"{name}_lifetime_wh"]]
        assert counter == sorted(counter), f"{name}: the counter goes back"
        assert counter[-1] - counter[0] > 400 * 1000, f"{name}: under 1 kWh a day"

    live = _live_at(plan, now)
    last = {name: points[-1][1] for name, points in history.device.items()}
    for name in COUNTERS:
        assert 0 <= live[name] - last[name] < 100, name  # a minute's energy at most
    for name in ("production_today_wh", "consumption_today_wh", "battery_capacity_wh"):
        assert abs(live[name] - last[name]) < 150, name
    assert abs(live["battery_soc_percent"] - last["battery_soc_percent"]) <= 1
    assert abs(live["production_now_w"] - last["production_now_w"]) < 250


def test_a_later_run_fills_only_the_gap_and_its_counters_go_on(tmp_path: Path) -> None:
    db = tmp_path / "gem.db"
    now = time.time()
    first, device_id = asyncio.run(_plan(db, now - 3 * 3600))
    assert first.history is not None
    stored = first.history.device["production_lifetime_wh"][-1][1] + 5_000  # and then some
    imported = first.history.device["grid_import_lifetime_wh"][-1][1] + 3_000

    async def store_lifetime() -> None:
        async with await Store.open(db, KeyRing.load_or_create(db)) as store:
            polled = {"production_lifetime_wh": stored, "grid_import_lifetime_wh": imported}
            await store.set_attributes("device", device_id, polled)

    asyncio.run(store_lifetime())
    second, _ = asyncio.run(_plan(db, now))
    assert second.history is not None
    gap = second.history.device["production_lifetime_wh"]
    assert first.history.until < gap[0][0] < first.history.until + 61
    assert gap[0][1] >= stored and len(gap) <= 3 * 60
    assert second.options.production_at_least_wh >= gap[-1][1]
    assert "the last 3 hours" in second.notice
    # The grid counters go on from what was polled last, not from the plant's start values.
    grid = second.history.device["grid_import_lifetime_wh"]
    assert 0 <= grid[0][1] - imported < 100
    assert second.options.grid_import_from_wh == second.history.grid_import_wh

    restart = gap[-1][0] + 30  # restarted at once: nothing worth filling
    third, _ = asyncio.run(_plan(db, restart))
    assert third.history is None and third.options.production_at_least_wh == stored


def test_a_plant_without_battery_or_meters_has_history_of_what_it_reports() -> None:
    now = time.time()
    history = simulate_history(PlantConfig(battery=False, cts=False), now - DAY, now)
    assert set(history.device) == {
        "production_now_w",
        "production_today_wh",
        "production_lifetime_wh",
        "inverter_count",
    }
    assert history.battery_percent == 50.0

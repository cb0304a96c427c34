"""The simulated Encharge follows the storage settings: what each mode does with a deficit,
charging from the grid, and the tariff's peak periods."""

from __future__ import annotations

import datetime as dt

import pytest

from gem_envoy.sim import ensemble
from gem_envoy.sim.plant import Plant, PlantConfig
from gem_envoy.sim.storage_modes import BatterySettings, PeakCalendar

from .helpers import MIDNIGHT

HOUR = 3600
EVENING = MIDNIGHT + 22 * HOUR  # no sun, the evening load: a deficit
PEAK = MIDNIGHT + 18 * HOUR  # inside the synthetic tariff's 16:00-21:00 peak


def plant_at(t: float, soc: float = 50.0, **settings: object) -> Plant:
    """A plant at `t` whose batteries hold `soc` percent, under the synthetic tariff with
    `settings` written into its storage settings."""
    plant = Plant(PlantConfig(battery=True), t)
    plant.soc_wh = [plant.unit_soc_wh(soc)] * len(plant.soc_wh)
    document = ensemble.tariff(plant, plant.snapshot())
    assert document is not None
    tariff = document["tariff"]
    tariff["storage_settings"].update(settings)
    plant.storage = BatterySettings.from_tariff(tariff, 20.0)
    return plant


def power(plant: Plant) -> float:
    """Total battery power now; positive = discharging."""
    return sum(plant.snapshot().battery_w)


def test_self_consumption_covers_the_deficit_down_to_the_reserve() -> None:
    assert power(plant_at(EVENING)) > 0
    assert power(plant_at(EVENING, soc=20.0)) == 0


def test_backup_keeps_the_charge_while_the_grid_is_up() -> None:
    plant = plant_at(EVENING, mode="backup")
    snap = plant.snapshot()
    assert sum(snap.battery_w) == 0
    assert snap.grid_w == pytest.approx(snap.load_w)  # the home runs on the grid


def test_backup_charges_from_surplus_and_from_the_grid_when_allowed() -> None:
    noon = plant_at(MIDNIGHT + 12 * HOUR, mode="backup")
    assert power(noon) < 0  # the solar surplus still charges it
    assert power(plant_at(EVENING, mode="backup", charge_from_grid=True)) < 0
    assert power(plant_at(EVENING, soc=100.0, mode="backup", charge_from_grid=True)) == 0


def test_economy_discharges_only_in_the_peak_periods() -> None:
    assert power(plant_at(PEAK, mode="economy")) > 0
    assert power(plant_at(EVENING, mode="economy")) == 0
    assert power(plant_at(PEAK, mode="savings-mode")) > 0  # old firmware's spelling


def test_economy_charges_off_peak_from_the_grid_when_allowed() -> None:
    assert power(plant_at(EVENING, mode="economy", charge_from_grid=True)) < 0
    assert power(plant_at(PEAK, mode="economy", charge_from_grid=True)) > 0


def test_self_consumption_charges_from_the_grid_only_up_to_the_reserve() -> None:
    low = plant_at(EVENING, soc=10.0, charge_from_grid=True)
    assert power(low) < 0
    assert power(plant_at(EVENING, soc=50.0, charge_from_grid=True)) > 0


def test_a_higher_reserve_stops_the_discharge_sooner() -> None:
    assert power(plant_at(EVENING, soc=50.0, reserved_soc=60.0)) == 0


def test_the_peak_calendar_follows_seasons_and_weekdays() -> None:
    def day(days: str, rate: float) -> dict[str, object]:
        periods = [{"start": 0, "rate": 0.1}, {"start": 17 * 60, "rate": rate}]
        return {"days": days, "periods": periods}

    tariff = {
        "seasons": [
            {"start": "6/1", "days": [day("Mon,Tue,Wed,Thu,Fri", 0.5), day("Sat,Sun", 0.1)]},
            {"start": "12/1", "days": [day("Mon,Tue,Wed,Thu,Fri,Sat,Sun", 0.1)]},
        ]
    }
    peaks = PeakCalendar.from_tariff(tariff)
    monday_evening = dt.datetime(2024, 7, 1, 18, 0)
    assert peaks.is_peak(monday_evening)
    assert not peaks.is_peak(monday_evening.replace(hour=9))
    assert not peaks.is_peak(dt.datetime(2024, 7, 6, 18, 0))  # a Saturday: one rate
    assert not peaks.is_peak(dt.datetime(2024, 12, 2, 18, 0))  # winter: one rate
    assert not peaks.is_peak(dt.datetime(2024, 1, 8, 18, 0))  # January: last year's winter
    assert PeakCalendar.from_tariff({"seasons": [{"start": "june"}]}) == PeakCalendar()

"""The plant's physics, tested without any server (pure code, time passed in)."""

from __future__ import annotations

import itertools

import pytest

from gem_envoy.sim import payloads
from gem_envoy.sim.plant import DAY_S, REPORT_PERIOD_S, Plant, PlantConfig

from .helpers import MIDNIGHT, NOON

HOUR = 3600


def at(plant: Plant, t: float) -> Plant:
    plant.advance_to(t)
    return plant


def test_no_production_at_night() -> None:
    plant = Plant(PlantConfig(), MIDNIGHT + 2 * HOUR)
    snap = plant.snapshot()
    assert snap.solar_w == 0
    assert snap.inverters_w == 0
    assert all(report.watts == 0 for report in snap.reports)
    assert snap.grid_w == pytest.approx(snap.load_w)
    assert 250 <= snap.load_w <= 1600


def test_production_peaks_near_noon() -> None:
    plant = Plant(PlantConfig(), MIDNIGHT)
    samples = [(t, plant.solar_w(t)) for t in range(int(MIDNIGHT), int(MIDNIGHT + DAY_S), 300)]
    peak_time, peak_w = max(samples, key=lambda sample: sample[1])
    assert abs(peak_time - NOON) <= 1.5 * HOUR
    capacity = sum(inv.capacity_w for inv in plant.inverters)
    assert 0.85 * capacity <= peak_w <= 1.05 * capacity
    assert plant.solar_w(MIDNIGHT + 5 * HOUR) == 0
    assert plant.solar_w(MIDNIGHT + 19 * HOUR) == 0


def test_inverters_vary_and_a_weak_one_stands_out() -> None:
    plant = Plant(PlantConfig(inverters=12, weak_inverter=3), NOON)
    watts = [plant.inverter_w(i, NOON) for i in range(12)]
    capacities = [inv.capacity_w for inv in plant.inverters]
    assert all(250 * 0.9 <= w <= 400 * 1.05 for i, w in enumerate(watts) if i != 3)
    ratios = [w / c for w, c in zip(watts, capacities, strict=True)]
    assert ratios[3] < 0.7 * min(r for i, r in enumerate(ratios) if i != 3)
    assert len({round(w) for w in watts}) > 6


def test_lifetime_counters_never_decrease_over_a_day() -> None:
    plant = Plant(PlantConfig(battery=True), MIDNIGHT + 3 * HOUR)
    previous: list[float] | None = None
    for minute in range(0, 26 * 60, 10):
        snap = at(plant, MIDNIGHT + 3 * HOUR + minute * 60).snapshot()
        prod = payloads.production_json(plant, snap)
        readings = payloads.meter_readings(plant, snap)
        values = [
            prod["production"][0]["whLifetime"],
            prod["production"][1]["whLifetime"],
            prod["consumption"][0]["whLifetime"],
            *(reading[key] for reading in readings for key in ("actEnergyDlvd", "actEnergyRcvd")),
            payloads.api_v1_production(snap)["wattHoursLifetime"],
        ]
        if previous is not None:
            assert all(new >= old for new, old in zip(values, previous, strict=True))
        previous = values


def test_a_plant_started_again_goes_on_from_the_counters_given() -> None:
    # The first run ends late one day; the next starts the morning after, from its values.
    first = at(Plant(PlantConfig(), NOON), MIDNIGHT + 23 * HOUR).snapshot().counters
    floors = PlantConfig(
        production_at_least_wh=first.production_wh,
        consumption_at_least_wh=first.consumption_wh,
    )
    plain = Plant(PlantConfig(), MIDNIGHT + DAY_S + 7 * HOUR).counters
    assert plain.production_wh < first.production_wh  # what the demo's second run looked like
    again = Plant(floors, MIDNIGHT + DAY_S + 7 * HOUR).counters
    assert again.production_wh >= first.production_wh
    assert again.consumption_wh >= first.consumption_wh
    balance = again.production_wh - again.export_wh - (again.consumption_wh - again.import_wh)
    assert balance == pytest.approx(
        plain.production_wh - plain.export_wh - (plain.consumption_wh - plain.import_wh)
    )


def test_today_resets_at_local_midnight() -> None:
    offset = 2 * HOUR  # local = UTC + 2 h, so local midnight is 22:00 UTC
    local_midnight = MIDNIGHT + DAY_S - offset
    plant = Plant(PlantConfig(utc_offset_s=offset), NOON)
    before = at(plant, local_midnight - 30).snapshot().counters
    assert before.production_today_wh > 5_000
    assert before.consumption_today_wh > 1_000
    lifetime = before.production_wh
    after = at(plant, local_midnight + 30).snapshot().counters
    assert after.production_today_wh == 0
    assert 0 < after.consumption_today_wh < 20
    assert after.production_days[-1] == pytest.approx(before.production_today_wh)
    assert after.production_wh >= lifetime
    assert after.production_seven_days_wh == pytest.approx(sum(list(after.production_days)[-6:]))


def test_inverter_reports_refresh_every_five_minutes() -> None:
    plant = Plant(PlantConfig(inverters=4), NOON)
    seen: list[set[int]] = [set() for _ in range(4)]
    start = NOON
    for second in range(0, 20 * 60, 10):
        snap = at(plant, start + second).snapshot()
        for index, report in enumerate(snap.reports):
            assert start + second - REPORT_PERIOD_S < report.date <= start + second
            seen[index].add(report.date)
    for dates in seen:
        ordered = sorted(dates)
        assert all(b - a == REPORT_PERIOD_S for a, b in itertools.pairwise(ordered))
        assert 4 <= len(ordered) <= 5


def test_max_report_is_the_best_report_ever() -> None:
    plant = Plant(PlantConfig(inverters=3), MIDNIGHT + 6 * HOUR)
    best = [report.max_watts for report in plant.reports]
    for minute in range(0, 12 * 60, 5):
        for index, report in enumerate(at(plant, MIDNIGHT + 6 * HOUR + minute * 60).reports):
            best[index] = max(best[index], report.watts)
            assert report.max_watts == best[index]
            assert report.watts <= report.max_watts


def _integrate_powers(plant: Plant, start: float, end: float) -> dict[str, float]:
    """Trapezoidal energy (Wh) of the snapshot powers, sampled every 30 s."""
    totals = {"solar": 0.0, "consumption": 0.0, "grid": 0.0, "battery": 0.0}
    previous = at(plant, start).snapshot()
    t = start
    while t < end:
        t += 30
        snap = at(plant, t).snapshot()
        pairs = {
            "solar": (previous.solar_w, snap.solar_w),
            "consumption": (previous.consumption_w, snap.consumption_w),
            "grid": (previous.grid_w, snap.grid_w),
            "battery": (sum(previous.battery_w), sum(snap.battery_w)),
        }
        for key, (a, b) in pairs.items():
            totals[key] += (a + b) / 2 * 30 / 3600
        previous = snap
    return totals


@pytest.mark.parametrize("battery", [False, True])
def test_counters_match_integrated_power(battery: bool) -> None:
    start, end = MIDNIGHT + 5 * HOUR, MIDNIGHT + 21 * HOUR
    plant = Plant(PlantConfig(battery=battery, initial_soc_percent=30), start)
    c0 = plant.snapshot().counters
    soc0 = sum(plant.soc_wh)
    energy = _integrate_powers(plant, start, end)
    c1 = plant.snapshot().counters
    assert c1.production_wh - c0.production_wh == pytest.approx(energy["solar"], rel=0.005)
    assert c1.production_today_wh - c0.production_today_wh == pytest.approx(
        energy["solar"], rel=0.005
    )
    assert c1.consumption_wh - c0.consumption_wh == pytest.approx(energy["consumption"], rel=0.01)
    net = (c1.import_wh - c1.export_wh) - (c0.import_wh - c0.export_wh)
    assert net == pytest.approx(energy["grid"], rel=0.01, abs=30)
    assert soc0 - sum(plant.soc_wh) == pytest.approx(energy["battery"], rel=0.01, abs=30)


def test_battery_charges_from_surplus_and_discharges_at_night() -> None:
    config = PlantConfig(battery=True, battery_units=2, initial_soc_percent=30)
    plant = Plant(config, MIDNIGHT + 7 * HOUR)
    morning = sum(plant.soc_wh)
    noonish = at(plant, MIDNIGHT + 11 * HOUR).snapshot()
    assert sum(noonish.soc_wh) > morning
    if sum(noonish.soc_wh) < 2 * config.unit_capacity_wh - 1:
        assert all(p < 0 for p in noonish.battery_w)  # charging from the surplus
        assert noonish.grid_w == pytest.approx(0, abs=1)
    evening = at(plant, MIDNIGHT + 21 * HOUR).snapshot()
    assert all(p > 0 for p in evening.battery_w)  # discharging to cover the load
    assert all(p <= config.unit_max_power_w for p in evening.battery_w)
    assert evening.grid_w == pytest.approx(0, abs=1)


def test_battery_stays_within_soc_bounds() -> None:
    config = PlantConfig(battery=True, initial_soc_percent=25, reserve_soc_percent=20)
    plant = Plant(config, MIDNIGHT)
    reserve = config.unit_capacity_wh * 0.2
    reached_reserve = reached_full = False
    for minute in range(0, 3 * 24 * 60, 10):
        snap = at(plant, MIDNIGHT + minute * 60).snapshot()
        for soc, power in zip(snap.soc_wh, snap.battery_w, strict=True):
            assert reserve - 1e-6 <= soc <= config.unit_capacity_wh + 1e-6
            assert abs(power) <= config.unit_max_power_w
            reached_reserve |= soc <= reserve + 1e-3
            reached_full |= soc >= config.unit_capacity_wh - 1e-3
            if soc <= reserve + 1e-3:
                assert power <= 0  # never below the reserve
    assert reached_reserve and reached_full


def test_battery_under_reserve_does_not_discharge() -> None:
    plant = Plant(PlantConfig(battery=True, initial_soc_percent=10), MIDNIGHT + 1 * HOUR)
    snap = at(plant, MIDNIGHT + 3 * HOUR).snapshot()
    assert snap.battery_w == (0.0, 0.0)
    assert snap.grid_w == pytest.approx(snap.load_w)


def test_overrides_force_conditions() -> None:
    plant = Plant(PlantConfig(inverters=2), MIDNIGHT + 2 * HOUR)
    plant.overrides.sun = 1.0
    plant.overrides.load_w = 2500.0
    capacity = sum(inv.capacity_w * inv.factor for inv in plant.inverters)
    snap = plant.snapshot()
    assert snap.solar_w == pytest.approx(capacity, rel=0.02)
    assert snap.load_w == 2500
    serial = plant.inverters[0].serial
    plant.overrides.inverter_scale[serial] = 0.5
    t = plant.time
    full = plant.inverters[0].capacity_w * plant.inverters[0].factor
    assert plant.inverter_w(0, t) == pytest.approx(0.5 * full, rel=0.02)


def test_idle_plant_catches_up_in_bounded_steps() -> None:
    plant = Plant(PlantConfig(), NOON)
    lifetime = plant.counters.production_wh
    plant.advance_to(NOON + 30 * DAY_S)
    assert plant.time == NOON + 30 * DAY_S
    assert len(plant.counters.production_days) == 7
    assert plant.counters.production_wh > lifetime + 20 * 10_000


def _grid_wh(plant: Plant, start: float, end: float, sign: int) -> float:
    """The grid power flowing one way (sign 1 = import), integrated at 10 s midpoints."""
    step = 10.0
    return sum(
        max(0.0, sign * (plant.load_w(t) - plant.solar_w(t))) * step / HOUR
        for t in (start + step * (i + 0.5) for i in range(int((end - start) / step)))
    )


@pytest.mark.parametrize(("start", "sign"), [(MIDNIGHT + 2 * HOUR, 1), (NOON, -1)])
def test_the_net_meter_counts_import_delivered_and_export_received(start: float, sign: int) -> None:
    # The driver's grid_import/export_lifetime_wh are the net CT's actEnergyDlvd/Rcvd: each
    # must grow by the grid power integrated over the time it flows that way (no battery).
    plant = Plant(PlantConfig(battery=False), start)

    def net() -> dict[str, float]:
        reading: dict[str, float] = payloads.meter_readings(plant, plant.snapshot())[1]
        return reading

    before = net()
    at(plant, start + HOUR)
    after = net()
    imported = after["actEnergyDlvd"] - before["actEnergyDlvd"]
    exported = after["actEnergyRcvd"] - before["actEnergyRcvd"]
    assert imported == pytest.approx(_grid_wh(plant, start, start + HOUR, 1), rel=0.02, abs=1)
    assert exported == pytest.approx(_grid_wh(plant, start, start + HOUR, -1), rel=0.02, abs=1)
    assert (imported > exported) == (sign == 1)  # night imports, noon exports

"""The attribute contract (driver-semantics.md section 2), one rule or defect per test."""

from __future__ import annotations

from gem_envoy.drivers.enphase_envoy.derive import (
    Readings,
    device_attributes,
    zones_attributes,
)
from gem_envoy.envoy.models import (
    BatteryPower,
    EnsembleDevice,
    EnsembleInventory,
    Inverter,
    MeterConfig,
    MeterReading,
    ProductionEntry,
    ProductionReport,
    SecCtrl,
    V1Production,
)

T0 = 1_722_966_985  # 2024-08-06T17:56:25Z


def entry(
    type_: str,
    measurement: str | None = None,
    *,
    active: int = 1,
    w_now: float | None = None,
    today: float | None = None,
    lifetime: float | None = None,
    reading_time: int | None = T0,
    **extra: object,
) -> ProductionEntry:
    return ProductionEntry(
        type=type_,
        measurement_type=measurement,
        active_count=active,
        reading_time=reading_time,
        w_now=w_now,
        wh_today=today,
        wh_lifetime=lifetime,
        **extra,  # type: ignore[arg-type]
    )


def eim(w: float, today: float = 1000.0, life: float = 5e6, **kw: object) -> ProductionEntry:
    return entry("eim", "production", w_now=w, today=today, lifetime=life, **kw)  # type: ignore[arg-type]


def inv(w: float = 900.0, life: float = 7e5, count: int = 12, **kw: object) -> ProductionEntry:
    return entry("inverters", w_now=w, lifetime=life, active=count, **kw)  # type: ignore[arg-type]


def total(w: float, today: float = 8000.0, life: float = 9e6, active: int = 1) -> ProductionEntry:
    return entry("eim", "total-consumption", active=active, w_now=w, today=today, lifetime=life)


def net(w: float, today: float = 100.0, life: float = 2e6, active: int = 1) -> ProductionEntry:
    return entry("eim", "net-consumption", active=active, w_now=w, today=today, lifetime=life)


def report(production=(), consumption=(), storage=()) -> ProductionReport:  # type: ignore[no-untyped-def]
    return ProductionReport(tuple(production), tuple(consumption), tuple(storage))


V1 = V1Production(watts_now=640.0, wh_today=4374.0, wh_seven_days=1e5, wh_lifetime=3183742.0)


def attrs(**readings: object) -> dict[str, object]:
    return dict(device_attributes(Readings(**readings)))  # type: ignore[arg-type]


# -- production ---------------------------------------------------------------------------


def test_production_now_prefers_the_production_ct_and_rounds() -> None:
    a = attrs(production=report([inv(751), eim(488.5)]), v1=V1)
    assert a["production_now_w"] == 489
    assert a["production_today_wh"] == 1000
    assert a["production_lifetime_wh"] == 5_000_000


def test_production_falls_back_to_inverters_then_v1() -> None:
    a = attrs(production=report([inv(751, life=702919)]), v1=V1)
    assert a["production_now_w"] == 751
    assert a["production_lifetime_wh"] == 702919
    assert a["production_today_wh"] == 4374  # only V1 has a "today" without a CT
    b = attrs(v1=V1)
    assert (b["production_now_w"], b["production_lifetime_wh"]) == (640, 3183742)
    assert "last_report_time" not in b  # V1 has no reading time


def test_inactive_production_ct_is_ignored() -> None:
    a = attrs(production=report([inv(751), eim(488.0, active=0)]))
    assert a["production_now_w"] == 751


def test_negative_night_draw_is_reported_as_measured() -> None:
    a = attrs(production=report([inv(0), eim(-6.481)]))
    assert a["production_now_w"] == -6


def test_eim_without_measurement_type_counts_as_production() -> None:
    a = attrs(production=report([inv(751), entry("eim", None, w_now=300.0, today=5.0)]))
    assert a["production_now_w"] == 300


def test_last_report_time_is_that_of_the_source_entry_in_utc() -> None:
    a = attrs(production=report([inv(751, reading_time=T0 - 60), eim(488.0, reading_time=T0)]))
    assert a["last_report_time"] == "2024-08-06T17:56:25Z"
    b = attrs(production=report([inv(751, reading_time=T0 - 60)]))
    assert b["last_report_time"] == "2024-08-06T17:55:25Z"


def test_inverter_count_is_the_inverters_active_count() -> None:
    assert attrs(production=report([inv(count=7)]))["inverter_count"] == 7


# -- consumption and net -----------------------------------------------------------------


def test_consumption_comes_from_total_and_net_power_is_minus_net() -> None:
    a = attrs(production=report([inv(), eim(488.154)], [total(476.686), net(-11.468)]))
    assert a["consumption_now_w"] == 477
    assert a["consumption_today_wh"] == 8000
    assert a["consumption_lifetime_wh"] == 9_000_000
    assert a["net_power_w"] == 11  # exporting 11 W


def test_consumption_absent_without_consumption_cts() -> None:
    a = attrs(production=report([inv(), eim(400.0)], [total(400.0, active=0), net(0, active=0)]))
    for name in ("consumption_now_w", "consumption_today_wh", "consumption_lifetime_wh"):
        assert name not in a
    assert "net_power_w" not in a


def test_8_3_defect_total_repeating_net_is_replaced_by_net_plus_production() -> None:
    repeated = total(1423.784, today=10.0, life=19338717.674)
    a = attrs(
        production=report(
            [inv(0), eim(-3.8, today=2.0, life=1692970.739)],
            [repeated, net(1423.784, today=10.0, life=19338717.674)],
        )
    )
    assert a["consumption_now_w"] == round(1423.784 - 3.8)
    assert a["consumption_today_wh"] == 12
    assert a["consumption_lifetime_wh"] == round(19338717.674 + 1692970.739)
    assert a["net_power_w"] == -1424  # importing


def test_total_equal_to_net_in_power_only_is_not_the_defect() -> None:
    a = attrs(production=report([eim(100.0)], [total(500.0, life=1.0), net(500.0, life=2.0)]))
    assert a["consumption_now_w"] == 500


def test_missing_total_derives_consumption_from_net_and_production() -> None:
    a = attrs(production=report([inv(), eim(1000.0, today=3000.0)], [net(-200.0, today=50.0)]))
    assert a["consumption_now_w"] == 800
    assert a["consumption_today_wh"] == 3050
    assert a["net_power_w"] == 200


def test_missing_net_derives_net_power_from_production_minus_total() -> None:
    a = attrs(production=report([eim(1714.4)], [total(1843.8)]))
    assert a["net_power_w"] == round(1714.4 - 1843.8)


def test_total_repeating_production_is_reported_as_sent() -> None:
    # 7.6.175_vw_metered_battery: total-consumption copies production and net is inactive.
    # The contract has no rule for this; the value is passed through, documented by this test.
    a = attrs(production=report([eim(3441.236)], [total(3441.236), net(0.0, active=0)]))
    assert a["consumption_now_w"] == 3441
    assert a["net_power_w"] == 0


# -- battery -------------------------------------------------------------------------------

ENCHARGES = EnsembleInventory(
    (
        EnsembleDevice("ENCHARGE", "E1", 20.0, 5000.0, 12.0, True, "ENCHG_STATE_READY"),
        EnsembleDevice("ENCHARGE", "E2", 80.0, 15000.0, 12.0, True, "ENCHG_STATE_READY"),
        EnsembleDevice("ENPOWER", "P1", None, None, None, True, None),
    )
)
SECCTRL = SecCtrl(21.0, 5250.0, 25000.0, 5000.0, 20.0, 21.0, 0.0, 0.0)


def power(*mw: float) -> tuple[BatteryPower, ...]:
    return tuple(BatteryPower(f"E{i}", m, m, None) for i, m in enumerate(mw))


def test_encharge_power_is_the_sum_in_watts_positive_discharging() -> None:
    a = attrs(inventory=ENCHARGES, battery_power=power(24000, 16000), secctrl=SECCTRL)
    assert a["battery_now_w"] == 40
    assert a["battery_state"] == "idle"  # within the deadband
    assert a["battery_soc_percent"] == 21.0
    assert a["battery_capacity_wh"] == 5250


def test_encharge_state_from_power_with_deadband() -> None:
    charging = attrs(inventory=ENCHARGES, battery_power=power(-136000, -128000), secctrl=SECCTRL)
    assert (charging["battery_now_w"], charging["battery_state"]) == (-264, "charging")
    out = attrs(inventory=ENCHARGES, battery_power=power(51000), secctrl=SECCTRL)
    assert out["battery_state"] == "discharging"


def test_soc_without_secctrl_is_capacity_weighted() -> None:
    a = attrs(inventory=ENCHARGES, battery_power=power(0))
    assert a["battery_soc_percent"] == (20 * 5000 + 80 * 15000) / 20000
    assert "battery_capacity_wh" not in a


def test_acb_only_uses_the_storage_entry() -> None:
    acb = entry("acb", active=2, w_now=-2.0, wh_now=25.0, percent_full=1.0, state="idle")
    a = attrs(production=report([inv()], storage=[acb]))
    assert a["battery_now_w"] == -2
    assert a["battery_soc_percent"] == 1.0
    assert a["battery_capacity_wh"] == 25
    assert a["battery_state"] == "idle"


def test_encharge_takes_precedence_over_an_active_acb() -> None:
    acb = entry("acb", active=3, w_now=260.0, wh_now=930.0, percent_full=25.0, state="discharging")
    a = attrs(
        production=report([inv()], storage=[acb]),
        inventory=ENCHARGES,
        battery_power=power(-1000),
        secctrl=SECCTRL,
    )
    assert a["battery_now_w"] == -1
    assert a["battery_soc_percent"] == 21.0


def test_no_battery_attributes_without_encharge_or_active_acb() -> None:
    idle_acb = entry("acb", active=0, w_now=0.0, wh_now=0.0, state="idle")
    empty = EnsembleInventory((EnsembleDevice("ENPOWER", "P1", None, None, None, True, None),))
    a = attrs(production=report([inv()], storage=[idle_acb]), inventory=empty, secctrl=SECCTRL)
    assert not [name for name in a if name.startswith("battery_")]


def test_absent_sources_give_absent_attributes_not_zero() -> None:
    assert attrs() == {}


# -- the CTs' energy per direction (/ivp/meters + /ivp/meters/readings) -------------------

PRODUCTION_EID, NET_EID, STORAGE_EID = 704643328, 704643584, 704643840


def ct(eid: int, kind: str, state: str = "enabled") -> MeterConfig:
    return MeterConfig(eid, state, kind, "split", 2)


def counters(eid: int, delivered: float, received: float) -> MeterReading:
    return MeterReading(eid, T0, 0.0, delivered, received, None, None, None)


THREE_CTS = (
    ct(PRODUCTION_EID, "production"),
    ct(NET_EID, "net-consumption"),
    ct(STORAGE_EID, "storage"),
)
READINGS = (
    counters(PRODUCTION_EID, 3165834.272, 75.689),
    counters(NET_EID, 4998251.825, 253960.783),
    counters(STORAGE_EID, 2274358.602, 2971414.344),
)


def test_the_net_ct_delivers_import_and_receives_export() -> None:
    a = attrs(meters=THREE_CTS[:2], meter_readings=READINGS[:2])
    assert a == {"grid_import_lifetime_wh": 4998252, "grid_export_lifetime_wh": 253961}


def test_the_storage_ct_receives_charge_and_delivers_discharge() -> None:
    a = attrs(meters=THREE_CTS, meter_readings=READINGS)
    assert a["battery_charged_lifetime_wh"] == 2971414
    assert a["battery_discharged_lifetime_wh"] == 2274359
    assert a["grid_import_lifetime_wh"] == 4998252


def test_ct_energy_is_absent_without_an_enabled_net_or_storage_ct() -> None:
    disabled = (ct(PRODUCTION_EID, "production"), ct(NET_EID, "net-consumption", "disabled"))
    assert attrs(meters=disabled, meter_readings=READINGS) == {}
    assert attrs(meters=THREE_CTS[:1], meter_readings=READINGS) == {}  # production CT only
    assert attrs(meters=THREE_CTS, meter_readings=None) == {}  # readings not read
    assert attrs(meters=None, meter_readings=READINGS) == {}  # CTs not known


def test_ct_energy_joins_readings_to_cts_by_eid_not_by_position() -> None:
    # 8.3.5169 sends a reading of an eid that /ivp/meters does not list, all zeros.
    stray = counters(1023410688, 0.0, 0.0)
    a = attrs(meters=THREE_CTS[:2], meter_readings=(stray, READINGS[1], READINGS[0]))
    assert a == {"grid_import_lifetime_wh": 4998252, "grid_export_lifetime_wh": 253961}
    assert attrs(meters=THREE_CTS[:2], meter_readings=(stray,)) == {}


def test_a_zero_counter_of_an_enabled_ct_is_reported() -> None:
    # A new install's export counter is a reading of zero, not a missing source.
    a = attrs(meters=THREE_CTS[1:2], meter_readings=(counters(NET_EID, 12.4, 0.0),))
    assert a == {"grid_import_lifetime_wh": 12, "grid_export_lifetime_wh": 0}


# -- zones -------------------------------------------------------------------------------

INVERTERS = (
    Inverter("121823030072", T0, 1, 58, 253),
    Inverter("121823035149", T0, 1, 56, 254),
    Inverter("ACB00001", T0, 11, 0, 0),
)


def test_zone_attributes_for_every_microinverter() -> None:
    zones = zones_attributes(INVERTERS, None)
    assert zones == {
        "121823030072": {
            "last_w": 58,
            "max_w": 253,
            "state": "58",
            "last_report_time": "2024-08-06T17:56:25Z",
        },
        "121823035149": {
            "last_w": 56,
            "max_w": 254,
            "state": "56",
            "last_report_time": "2024-08-06T17:56:25Z",
        },
    }


def test_zone_attributes_only_for_listed_known_serials() -> None:
    zones = zones_attributes(INVERTERS, ["121823035149", "999"])
    assert list(zones) == ["121823035149"]

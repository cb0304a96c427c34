"""Tests of `gem_envoy.envoy.parse`: real captures parse, broken bodies give BadResponse only."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gem_envoy.envoy import parse
from gem_envoy.envoy.errors import BadResponse
from gem_envoy.envoy.models import (
    BatteryPower,
    EnsembleInventory,
    EnsembleStatus,
    GatewayInfo,
    Inverter,
    LivePower,
    LiveStatus,
    MeterConfig,
    MeterReading,
    ProductionReport,
    SecCtrl,
    StorageSettings,
    V1Production,
)
from tests.captures import (
    capture_folders,
    captured_body,
    firmware_major,
    real_body,
    require_captures,
)

# ---------------------------------------------------------------------------------------------
# The parsers, each with a small realistic body (shaped like the captures) to break.

INFO_XML = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<envoy_info>\n  <time>1693745127</time>\n"
    b"  <device>\n    <sn>122238082763</sn>\n    <pn>800-00654-r08</pn>\n"
    b"    <software>D7.6.175</software>\n    <imeter>true</imeter>\n  </device>\n"
    b"  <web-tokens>true</web-tokens>\n</envoy_info>\n"
)

_EIM = {
    "type": "eim",
    "activeCount": 1,
    "measurementType": "production",
    "readingTime": 1693745133,
    "wNow": 488.925,
    "whLifetime": 3183793.885,
    "whToday": 4374.885,
    "rmsVoltage": 245.3,
    "lines": [{"wNow": 240.125, "whToday": 2100.5}, {"wNow": 248.8, "whToday": 2274.385}],
}

_STREAM_PHASE = {"p": 301.2, "q": 12.5, "s": 310.0, "v": 240.1, "i": 1.29, "pf": 0.97, "f": 60.0}
_ZERO_PHASE = {"p": 0.0, "q": 0.0, "s": 0.0, "v": 0.0, "i": 0.0, "pf": 0.0, "f": 0.0}
_STREAM_CHANNEL = {"ph-a": _STREAM_PHASE, "ph-b": _STREAM_PHASE, "ph-c": _ZERO_PHASE}
_LIVE_CHANNEL = {
    "agg_p_mw": 602400, "agg_s_mva": 620000, "agg_p_ph_a_mw": 301200, "agg_p_ph_b_mw": 301200,
    "agg_p_ph_c_mw": 0, "agg_s_ph_a_mva": 310000, "agg_s_ph_b_mva": 310000, "agg_s_ph_c_mva": 0,
}  # fmt: skip

SAMPLES: dict[str, Any] = {
    "info": INFO_XML,
    # One event's JSON (its `data:`), not a capture file's whole stream.
    "stream_meter_event": {
        "production": _STREAM_CHANNEL,
        "net-consumption": _STREAM_CHANNEL,
        "total-consumption": _STREAM_CHANNEL,
    },
    "ivp_livedata_status": {
        "connection": {"sc_stream": "enabled", "mqtt_state": "connected"},
        "meters": {
            "last_update": 1693745133,
            "soc": 48,
            "enc_agg_soc": 48,
            "enc_agg_energy": 4800,
            "acb_agg_soc": 0,
            "acb_agg_energy": 0,
            "is_split_phase": 1,
            "phase_count": 2,
            "pv": _LIVE_CHANNEL,
            "storage": _LIVE_CHANNEL,
            "grid": _LIVE_CHANNEL,
            "load": _LIVE_CHANNEL,
            "generator": _LIVE_CHANNEL,
        },
    },
    "production.json": {
        "production": [
            {
                "type": "inverters",
                "activeCount": 7,
                "readingTime": 1693745066,
                "wNow": 751,
                "whLifetime": 702919,
            },
            _EIM,
        ],
        "consumption": [{**_EIM, "measurementType": "total-consumption", "wNow": 1200.5}],
        "storage": [
            {
                "type": "acb",
                "activeCount": 1,
                "readingTime": 1693745066,
                "wNow": -260,
                "whNow": 840,
                "state": "charging",
                "percentFull": 70,
            }
        ],
    },
    "api_v1_production": {
        "wattHoursToday": 4374,
        "wattHoursSevenDays": 111089,
        "wattHoursLifetime": 3183742,
        "wattsNow": 689,
    },
    "api_v1_production_inverters": [
        {
            "serialNumber": "121823030072",
            "lastReportDate": 1693745036,
            "devType": 1,
            "lastReportWatts": 58,
            "maxReportWatts": 253,
        }
    ],
    "ivp_meters": [
        {
            "eid": 704643328,
            "state": "enabled",
            "measurementType": "production",
            "phaseMode": "three",
            "phaseCount": 1,
            "meteringStatus": "normal",
            "statusFlags": [],
        }
    ],
    "ivp_meters_readings": [
        {
            "eid": 704643328,
            "timestamp": 1693745133,
            "actEnergyDlvd": 3183793.885,
            "actEnergyRcvd": 8851.704,
            "activePower": 488.925,
            "voltage": 245.313,
            "current": 3.124,
            "freq": 50.0,
            "channels": [
                {
                    "eid": 1778385169,
                    "timestamp": 1693745133,
                    "actEnergyDlvd": 3183793.885,
                    "actEnergyRcvd": 8851.704,
                    "activePower": 488.925,
                    "voltage": 245.313,
                    "current": 3.124,
                    "freq": 50.0,
                }
            ],
        }
    ],
    "ivp_ensemble_inventory": [
        {
            "type": "ENCHARGE",
            "devices": [
                {
                    "part_num": "836-01826-r76",
                    "serial_num": "492319002585",
                    "percentFull": 100,
                    "encharge_capacity": 4960,
                    "temperature": 42,
                    "communicating": True,
                    "admin_state_str": "ENCHG_STATE_READY",
                }
            ],
        },
        {
            "type": "ENPOWER",
            "devices": [
                {
                    "serial_num": "482326083757",
                    "temperature": 113,
                    "communicating": True,
                    "admin_state_str": "ENPWR_STATE_OPER_CLOSED",
                }
            ],
        },
    ],
    "ivp_ensemble_power": {
        "devices:": [
            {
                "serial_num": "492319002585",
                "real_power_mw": 24000,
                "apparent_power_mva": 24000,
                "soc": 100,
            }
        ]
    },
    "ivp_ensemble_secctrl": {
        "shutdown": False,
        "ENC_agg_soc": 92,
        "ENC_agg_avail_energy": 9176,
        "Enc_max_available_capacity": 9920,
        "ENC_agg_backup_energy": 0,
        "configured_backup_soc": 0,
        "agg_soc": 92,
    },
    "ivp_ensemble_status": {
        "inventory": {"serial_nums": {"202323119466": {"device_type": 22}}},
        "relay": {"mains_admin_state": "closed", "mains_oper_state": "closed"},
    },
    "admin_lib_tariff": {
        "tariff": {
            "currency": {"code": "USD"},
            "storage_settings": {
                "mode": "self-consumption",
                "operation_mode_sub_type": "",
                "reserved_soc": 20.0,
                "very_low_soc": 10,
                "charge_from_grid": False,
            },
        }
    },
}

PARSERS: dict[str, Callable[[bytes], object]] = {
    "info": parse.parse_info,
    "stream_meter_event": parse.meter_event,
    "ivp_livedata_status": parse.livedata_status,
    "production.json": parse.parse_production,
    "api_v1_production": parse.parse_v1_production,
    "api_v1_production_inverters": parse.parse_inverters,
    "ivp_meters": parse.parse_meters,
    "ivp_meters_readings": parse.parse_meter_readings,
    "ivp_ensemble_inventory": parse.parse_ensemble_inventory,
    "ivp_ensemble_power": parse.parse_ensemble_power,
    "ivp_ensemble_secctrl": parse.parse_secctrl,
    "ivp_ensemble_status": parse.parse_ensemble_status,
    "admin_lib_tariff": parse.parse_storage_settings,
}

ENDPOINTS = {
    "info": "/info",
    "stream_meter_event": "/stream/meter",
    "ivp_livedata_status": "/ivp/livedata/status",
    "production.json": "/production.json",
    "api_v1_production": "/api/v1/production",
    "api_v1_production_inverters": "/api/v1/production/inverters",
    "ivp_meters": "/ivp/meters",
    "ivp_meters_readings": "/ivp/meters/readings",
    "ivp_ensemble_inventory": "/ivp/ensemble/inventory",
    "ivp_ensemble_power": "/ivp/ensemble/power",
    "ivp_ensemble_secctrl": "/ivp/ensemble/secctrl",
    "ivp_ensemble_status": "/ivp/ensemble/status",
    "admin_lib_tariff": "/admin/lib/tariff",
}

# What each parser returns: a model, or a tuple of models.
RESULTS: dict[str, type] = {
    "info": GatewayInfo,
    "stream_meter_event": LivePower,
    "ivp_livedata_status": LiveStatus,
    "production.json": ProductionReport,
    "api_v1_production": V1Production,
    "api_v1_production_inverters": Inverter,
    "ivp_meters": MeterConfig,
    "ivp_meters_readings": MeterReading,
    "ivp_ensemble_inventory": EnsembleInventory,
    "ivp_ensemble_power": BatteryPower,
    "ivp_ensemble_secctrl": SecCtrl,
    "ivp_ensemble_status": EnsembleStatus,
    "admin_lib_tariff": StorageSettings,
}
JSON_NAMES = [name for name in PARSERS if name != "info"]


def sample_body(name: str) -> bytes:
    sample = SAMPLES[name]
    return sample if isinstance(sample, bytes) else json.dumps(sample).encode()


# ---------------------------------------------------------------------------------------------
# Assertions shared by all tests


def _matches(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple) and all(_matches(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, float) and math.isfinite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        assert_typed(value)
        return isinstance(value, hint)
    return isinstance(value, hint)


def assert_typed(model: object) -> None:
    """Every field of a model holds what its annotation says (floats finite, ints not bools)."""
    assert dataclasses.is_dataclass(model)
    hints = typing.get_type_hints(type(model))
    for field in dataclasses.fields(model):
        value = getattr(model, field.name)
        assert _matches(value, hints[field.name]), f"{type(model).__name__}.{field.name}={value!r}"


def assert_result(name: str, result: object) -> None:
    items = result if isinstance(result, tuple) else (result,)
    for item in items:
        assert isinstance(item, RESULTS[name])
        assert_typed(item)


def assert_refused(name: str, body: bytes, *expected: str) -> BadResponse:
    with pytest.raises(BadResponse) as caught:
        PARSERS[name](body)
    message = str(caught.value)
    assert message.startswith(f"bad response from {ENDPOINTS[name]}: "), message
    assert len(message) > len(f"bad response from {ENDPOINTS[name]}: ")
    for text in expected:
        assert text in message, message
    return caught.value


def parses_or_refuses(name: str, body: bytes) -> None:
    """The core property: a model of the right types, or BadResponse; never anything else."""
    try:
        result = PARSERS[name](body)
    except BadResponse as exc:
        assert str(exc).startswith(f"bad response from {ENDPOINTS[name]}: ")
        return
    assert_result(name, result)


# ---------------------------------------------------------------------------------------------
# Real captures: every real body of every folder. Firmware 7+ must parse; older firmware must
# parse or give BadResponse (its production.json may be HTML, its tariff has no storage mode).

# Endpoints whose body is the same on every firmware that has them.
EVERY_FIRMWARE = {
    "info",
    "api_v1_production",
    "api_v1_production_inverters",
    "ivp_meters",
    "ivp_meters_readings",
}


def _capture_cases() -> list[Any]:
    cases = [
        pytest.param(folder, name, id=f"{folder}/{name}")
        for folder in capture_folders()
        for name in PARSERS
        if real_body(folder, name) is not None
    ]
    # Without captures, one case that skips and says why.
    return cases or [pytest.param("", "", id="no-captures")]


def _raw_json(body: bytes) -> Any:
    return json.loads(body)


def check_info(model: Any, body: bytes, folder: str) -> None:
    raw = ET.fromstring(body)  # trusted test data; the parser itself uses defusedxml
    assert model.serial == (raw.findtext("device/sn") or "").strip()
    assert model.part_number == (raw.findtext("device/pn") or "").strip()
    assert model.firmware == (raw.findtext("device/software") or "").strip()
    assert model.firmware_major == firmware_major(folder)
    assert model.metered == ((raw.findtext("device/imeter") or "").strip() == "true")
    assert model.web_tokens == ((raw.findtext("web-tokens") or "").strip() == "true")
    assert model.uses_tokens == (firmware_major(folder) >= 7)


def check_production(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    for key in ("production", "consumption", "storage"):
        entries, raw_entries = getattr(model, key), raw.get(key, [])
        assert len(entries) == len(raw_entries)
        for entry, item in zip(entries, raw_entries, strict=True):
            assert entry.type == item["type"]
            assert entry.measurement_type == item.get("measurementType")
            assert entry.active_count == item.get("activeCount", 0)
            assert entry.reading_time == item.get("readingTime")
            assert entry.w_now == item.get("wNow")
            assert entry.wh_today == item.get("whToday")
            assert entry.wh_lifetime == item.get("whLifetime")
            assert entry.state == item.get("state")
            assert entry.lines_w == tuple(line["wNow"] for line in item.get("lines") or [])
    assert model.production, "every gateway reports at least its inverters"


def check_v1(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    assert model.watts_now == raw["wattsNow"]
    assert model.wh_today == raw["wattHoursToday"]
    assert model.wh_seven_days == raw["wattHoursSevenDays"]
    assert model.wh_lifetime == raw["wattHoursLifetime"]


def check_inverters(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    assert [i.serial for i in model] == [r["serialNumber"] for r in raw]
    assert [i.last_report_watts for i in model] == [round(r["lastReportWatts"]) for r in raw]
    assert [i.max_report_watts for i in model] == [round(r["maxReportWatts"]) for r in raw]
    assert [i.dev_type for i in model] == [r.get("devType", 1) for r in raw]
    assert all(i.last_report_date > 1_000_000_000 for i in model)


def check_meters(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    assert [m.eid for m in model] == [r["eid"] for r in raw]
    assert [m.state for m in model] == [r["state"] for r in raw]
    assert [m.measurement_type for m in model] == [r["measurementType"] for r in raw]
    assert [m.phase_count for m in model] == [r.get("phaseCount") for r in raw]


def check_readings(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    assert [m.eid for m in model] == [r["eid"] for r in raw]
    for reading, item in zip(model, raw, strict=True):
        assert reading.active_power == item["activePower"]
        assert reading.energy_delivered_wh == item["actEnergyDlvd"]
        assert reading.energy_received_wh == item["actEnergyRcvd"]
        assert reading.voltage == item.get("voltage")
        channels = item.get("channels", [])
        assert [c.active_power for c in reading.channels] == [c["activePower"] for c in channels]


def check_inventory(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    expected = [(g["type"], d["serial_num"]) for g in raw for d in g.get("devices", [])]
    assert [(d.type, d.serial) for d in model.devices] == expected
    for device in model.encharges:
        assert device.percent_full is not None and 0 <= device.percent_full <= 100
        assert device.capacity_wh is not None and device.capacity_wh > 0


def check_power(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)["devices:"]
    assert [p.serial for p in model] == [r["serial_num"] for r in raw]
    assert sum(p.real_power_mw for p in model) == sum(r["real_power_mw"] for r in raw)


def check_secctrl(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    assert model.enc_agg_soc == raw.get("ENC_agg_soc")
    assert model.enc_agg_avail_energy_wh == raw.get("ENC_agg_avail_energy")
    assert model.enc_max_available_capacity_wh == raw.get("Enc_max_available_capacity")
    assert model.acb_agg_soc == raw.get("ACB_agg_soc")


def check_status(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    assert model.serials == tuple(raw["inventory"]["serial_nums"])
    assert model.mains_admin_state == raw["relay"]["mains_admin_state"]
    assert model.mains_oper_state == raw["relay"]["mains_oper_state"]


def check_tariff(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)["tariff"]["storage_settings"]
    assert model.mode == {"savings-mode": "economy"}.get(raw["mode"], raw["mode"])
    assert model.mode in ("self-consumption", "backup", "economy")
    assert model.reserved_soc == raw.get("reserved_soc")
    assert model.charge_from_grid == raw.get("charge_from_grid")


def check_stream_event(model: Any, body: bytes, folder: str) -> None:
    raw = _raw_json(body)
    production = raw.get("production") or {}
    expected = math.fsum(phase["p"] for phase in production.values() if phase)
    assert model.production_w == (expected if "production" in raw else None)


def check_livedata(model: Any, body: bytes, folder: str) -> None:
    meters = _raw_json(body)["meters"]
    for field, key in (("production_w", "pv"), ("consumption_w", "load"), ("grid_w", "grid")):
        channel = meters.get(key)
        assert getattr(model.power, field) == (channel["agg_p_mw"] / 1000 if channel else None)
    assert model.last_update == meters.get("last_update")


CHECKS: dict[str, Callable[[Any, bytes, str], None]] = {
    "info": check_info,
    "stream_meter_event": check_stream_event,
    "ivp_livedata_status": check_livedata,
    "production.json": check_production,
    "api_v1_production": check_v1,
    "api_v1_production_inverters": check_inverters,
    "ivp_meters": check_meters,
    "ivp_meters_readings": check_readings,
    "ivp_ensemble_inventory": check_inventory,
    "ivp_ensemble_power": check_power,
    "ivp_ensemble_secctrl": check_secctrl,
    "ivp_ensemble_status": check_status,
    "admin_lib_tariff": check_tariff,
}


@pytest.mark.parametrize(("folder", "name"), _capture_cases())
def test_real_capture_parses(folder: str, name: str) -> None:
    require_captures()
    body = real_body(folder, name)
    assert body is not None
    if firmware_major(folder) < 7 and name not in EVERY_FIRMWARE:
        parses_or_refuses(name, body)
        return
    result = PARSERS[name](body)
    assert_result(name, result)
    CHECKS[name](result, body, folder)


@pytest.mark.parametrize(("folder", "name"), _capture_cases())
def test_real_capture_cut_in_half_is_refused(folder: str, name: str) -> None:
    require_captures()
    body = real_body(folder, name)
    assert body is not None
    assert_refused(name, body[: len(body) // 2])


_capture = captured_body


def test_capture_eim_entry_matches_raw_json() -> None:
    body = _capture("8.2.4345_with_device_data", "production.json")
    report = parse.parse_production(body)
    raw = json.loads(body)
    eim = next(e for e in report.production if e.type == "eim")
    raw_eim = next(e for e in raw["production"] if e["type"] == "eim")
    assert (eim.w_now, eim.wh_today, eim.wh_lifetime) == (
        raw_eim["wNow"],
        raw_eim["whToday"],
        raw_eim["whLifetime"],
    )
    kinds = [e.measurement_type for e in report.consumption]
    assert kinds == ["total-consumption", "net-consumption"]


def test_capture_acb_storage_entry() -> None:
    body = _capture("8.2.4382_ACB", "production.json")
    (acb,) = parse.parse_production(body).storage
    raw = json.loads(body)["storage"][0]
    assert acb.type == "acb"
    assert (acb.wh_now, acb.percent_full, acb.state) == (
        raw["whNow"],
        raw["percentFull"],
        raw["state"],
    )


def test_capture_legacy_savings_mode_reads_as_economy() -> None:
    body = _capture("7.3.517_legacy_savings_mode", "admin_lib_tariff")
    assert json.loads(body)["tariff"]["storage_settings"]["mode"] == "savings-mode"
    assert parse.parse_storage_settings(body).mode == "economy"


def test_capture_generator_running_opens_the_mains_relay() -> None:
    status = parse.parse_ensemble_status(
        _capture("8.2.127_with_generator_running", "ivp_ensemble_status")
    )
    assert (status.mains_admin_state, status.mains_oper_state) == ("closed", "open")


def test_capture_inventory_ignores_grid_profile_entry() -> None:
    # This capture's inventory ends with a grid-profile object that has no type or devices.
    body = _capture("7.6.175_vw_metered_battery", "ivp_ensemble_inventory")
    assert any("devices" not in group for group in json.loads(body))
    inventory = parse.parse_ensemble_inventory(body)
    assert len(inventory.encharges) == 3
    assert [d.type for d in inventory.devices].count("ENPOWER") == 1


def test_capture_battery_power_sign() -> None:
    power = parse.parse_ensemble_power(
        _capture("8.2.127_with_generator_running", "ivp_ensemble_power")
    )
    assert power[0].real_power_mw == -1250000  # charging from the generator


@pytest.mark.parametrize(
    ("folder", "software", "major"),
    [("3.9.36", "R3.9.36", 3), ("4.2.33", "M4.2.33", 4), ("7.6.175", "D7.6.175", 7)],
)
def test_capture_info_firmware(folder: str, software: str, major: int) -> None:
    info = parse.parse_info(_capture(folder, "info"))
    assert (info.firmware, info.firmware_major) == (software, major)


def test_capture_d5_html_production_is_refused() -> None:
    body = _capture("3.9.36", "production.json")
    assert_refused("production.json", body, "not JSON", "HTML")


def test_capture_old_tariff_without_storage_settings_is_refused() -> None:
    body = _capture("4.10.35", "admin_lib_tariff")
    assert_refused("admin_lib_tariff", body, "tariff.storage_settings is missing")


def test_capture_404_error_object_is_refused() -> None:
    # Served with 404: an error object, which must not read as an all-empty secctrl.
    root = require_captures()
    path = root / "4.10.35" / "ivp_ensemble_secctrl"
    if not path.is_file():
        pytest.skip("capture 4.10.35/ivp_ensemble_secctrl not present")
    assert_refused("ivp_ensemble_secctrl", path.read_bytes(), "error instead of data", "404")


# ---------------------------------------------------------------------------------------------
# The small samples parse, with the values they hold


def test_samples_parse() -> None:
    for name in PARSERS:
        assert_result(name, PARSERS[name](sample_body(name)))


def test_sample_info() -> None:
    info = parse.parse_info(INFO_XML)
    assert info == GatewayInfo("122238082763", "800-00654-r08", "D7.6.175", 7, True, True)


def test_info_flags_default_to_false() -> None:
    body = (
        b"<envoy_info><device><sn>1</sn><pn>p</pn>"
        b"<software>D5.0.62</software></device></envoy_info>"
    )
    info = parse.parse_info(body)
    assert (info.metered, info.web_tokens, info.uses_tokens) == (False, False, False)


@pytest.mark.parametrize(
    ("software", "major"),
    [
        ("D7.6.175", 7),
        ("R3.9.36", 3),
        ("M4.2.33", 4),
        ("D8.2.4345", 8),
        ("D10.0.1", 10),
        ("7.6.175", 7),
        ("", 0),
        ("D", 0),
        ("garbage", 0),
        ("D" + "9" * 5000, 0),
    ],
)
def test_info_firmware_major(software: str, major: int) -> None:
    body = INFO_XML.replace(b"D7.6.175", software.encode())
    assert parse.parse_info(body).firmware_major == major


def test_sample_production() -> None:
    report = parse.parse_production(sample_body("production.json"))
    inverters, eim = report.production
    assert (inverters.type, inverters.active_count, inverters.w_now) == ("inverters", 7, 751.0)
    assert inverters.measurement_type is None and inverters.wh_today is None
    assert (eim.measurement_type, eim.wh_today) == ("production", 4374.885)
    assert report.consumption[0].w_now == 1200.5
    assert (report.storage[0].state, report.storage[0].percent_full) == ("charging", 70.0)


def test_production_without_consumption_or_storage() -> None:
    report = parse.parse_production(b'{"production": [{"type": "inverters"}]}')
    assert report.consumption == () and report.storage == ()
    assert report.production[0].active_count == 0
    assert report.production[0].w_now is None


def test_null_optional_reads_as_none() -> None:
    body = b'{"production": [{"type": "eim", "wNow": null, "activeCount": null}]}'
    entry = parse.parse_production(body).production[0]
    assert (entry.w_now, entry.active_count) == (None, 0)


def test_inverter_watts_are_rounded_and_dev_type_defaults() -> None:
    body = (
        b'[{"serialNumber": "1", "lastReportDate": 1691342432.0,'
        b' "lastReportWatts": 12.6, "maxReportWatts": 300.4}]'
    )
    (inverter,) = parse.parse_inverters(body)
    assert inverter == Inverter("1", 1691342432, 1, 13, 300)


def test_meter_reading_channels() -> None:
    (reading,) = parse.parse_meter_readings(sample_body("ivp_meters_readings"))
    assert reading.energy_delivered_wh == 3183793.885
    assert [c.eid for c in reading.channels] == [1778385169]
    assert reading.channels[0].channels == ()


def test_ensemble_power_accepts_plain_devices_key() -> None:
    body = b'{"devices": [{"serial_num": "1", "real_power_mw": -5000}]}'
    assert parse.parse_ensemble_power(body) == (BatteryPower("1", -5000.0, None, None),)


def test_secctrl_all_optional() -> None:
    assert parse.parse_secctrl(b"{}") == SecCtrl(*([None] * 8))


def test_ensemble_status_all_optional() -> None:
    assert parse.parse_ensemble_status(b"{}") == EnsembleStatus(None, None, ())
    status = parse.parse_ensemble_status(sample_body("ivp_ensemble_status"))
    assert status.serials == ("202323119466",)


def test_tariff_savings_mode() -> None:
    body = b'{"tariff": {"storage_settings": {"mode": "savings-mode"}}}'
    expected = StorageSettings("economy", None, None, None, None, mode_as_sent="savings-mode")
    assert parse.parse_storage_settings(body) == expected


def test_inventory_keeps_group_types() -> None:
    inventory = parse.parse_ensemble_inventory(sample_body("ivp_ensemble_inventory"))
    assert [(d.type, d.serial) for d in inventory.devices] == [
        ("ENCHARGE", "492319002585"),
        ("ENPOWER", "482326083757"),
    ]
    assert inventory.encharges[0].capacity_wh == 4960.0
    assert inventory.devices[1].percent_full is None


# ---------------------------------------------------------------------------------------------
# Broken bodies, for every parser

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n<envoy_info><device><sn>&lol9;</sn></device></envoy_info>\n"
)
HTML_PAGE = (
    b'    <!DOCTYPE html PUBLIC "-//IETF//DTD HTML 2.0//EN">\n    <html>\n    <head>'
    b"<title>Envoy</title></head>\n    <body><h1>Envoy</h1></body>\n    </html>\n"
)
GARBAGE = {
    "empty": b"",
    "blank": b" \r\n\t",
    "null": b"null",
    "number": b"42",
    "html": HTML_PAGE,
    "deeply-nested-list": b"[" * 100_000,
    "deeply-nested-closed": b"[" * 100_000 + b"]" * 100_000,
    "deeply-nested-xml": b"<a>" * 100_000,
    "deeply-nested-xml-closed": b"<a>" * 100_000 + b"</a>" * 100_000,
    "non-utf8": b"\xff\xfe\xfa\x80 not text",
    "latin1-in-json": b'{"production": "\xe9t\xe9"}',
    "billion-laughs": BILLION_LAUGHS,
    "long-integer": b"1" * 5000,
    "nul-bytes": b"\x00" * 16,
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
@pytest.mark.parametrize("name", PARSERS)
def test_garbage_is_refused(name: str, garbage: bytes) -> None:
    assert_refused(name, garbage)


@pytest.mark.parametrize("name", PARSERS)
def test_truncated_sample_is_refused(name: str) -> None:
    body = sample_body(name)
    for cut in (1, len(body) // 3, len(body) // 2, len(body) - 2):
        assert_refused(name, body[:cut])


@pytest.mark.parametrize("name", JSON_NAMES)
def test_html_is_not_json(name: str) -> None:
    assert_refused(name, HTML_PAGE, "not JSON", "HTML")


@pytest.mark.parametrize("name", JSON_NAMES)
def test_error_object_is_refused(name: str) -> None:
    assert_refused(name, b'{"error": "404 - Not Found"}', "error instead of data", "404")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (INFO_XML.replace(b"envoy_info", b"html"), "root element is <html>"),
        (INFO_XML.replace(b"<sn>122238082763</sn>", b""), "device/sn is missing"),
        (INFO_XML.replace(b"122238082763", b"  "), "device/sn is empty"),
        (INFO_XML.replace(b"<imeter>true", b"<imeter>maybe"), "device/imeter is 'maybe'"),
        (INFO_XML.replace(b"<pn>800-00654-r08</pn>", b""), "device/pn is missing"),
        (INFO_XML.replace(b"<software>D7.6.175</software>", b""), "device/software is missing"),
        (BILLION_LAUGHS, "XML refused"),
        (b'{"sn": "1"}', "not valid XML"),
        (b"<?xml version='1.0' encoding='bogus'?><envoy_info/>", "not valid XML"),
        (INFO_XML.replace(b"D7.6.175", b"D7\xff"), "not valid XML"),
        (INFO_XML[: len(INFO_XML) // 2], "not valid XML"),
    ],
)
def test_broken_info(body: bytes, expected: str) -> None:
    assert_refused("info", body, expected)


DELETE = object()  # as a replacement value: remove the key instead


def _mutated(name: str, path: str, value: object) -> bytes:
    """The sample of `name` with the value at `path` ("production/0/wNow") replaced or deleted."""
    if not path:
        return json.dumps(value).encode()
    doc = json.loads(sample_body(name))
    steps: list[Any] = [int(s) if s.isdigit() else s for s in path.split("/")]
    parent = doc
    for step in steps[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[steps[-1]]
    else:
        parent[steps[-1]] = value
    return json.dumps(doc, allow_nan=True).encode()


# (path in the sample, replacement, what the message must say)
WRONG: dict[str, list[tuple[str, object, str]]] = {
    "production.json": [
        ("", [], "the body is a list, expected an object"),
        ("production", DELETE, "production is missing"),
        ("production", {}, "production is an object, expected a list"),
        ("production/0", [], "production[0] is a list, expected an object"),
        ("production/0/type", DELETE, "production[0].type is missing"),
        ("production/0/type", 5, "production[0].type is a number, expected a string"),
        ("production/0/wNow", "751", "production[0].wNow is a string, expected a number"),
        ("production/0/wNow", True, "production[0].wNow is a boolean, expected a number"),
        ("production/0/wNow", 10**400, "production[0].wNow is a number too large"),
        ("production/1/whToday", [1], "production[1].whToday is a list"),
        ("production/0/activeCount", 1.5, "activeCount is 1.5, expected a whole number"),
        ("production/0/readingTime", "now", "production[0].readingTime is a string"),
        ("consumption", "x", "consumption is a string, expected a list"),
        ("consumption/0/measurementType", 1, "consumption[0].measurementType is a number"),
        ("storage/0/percentFull", False, "storage[0].percentFull is a boolean"),
        ("storage/0/whNow", math.inf, "storage[0].whNow is not a finite number"),
        ("storage/0/wNow", math.nan, "storage[0].wNow is not a finite number"),
    ],
    "api_v1_production": [
        ("", None, "the body is null, expected an object"),
        ("wattsNow", DELETE, "wattsNow is missing"),
        ("wattsNow", "689", "wattsNow is a string, expected a number"),
        ("wattHoursToday", True, "wattHoursToday is a boolean"),
        ("wattHoursLifetime", None, "wattHoursLifetime is null, expected a number"),
    ],
    "api_v1_production_inverters": [
        ("", {}, "the body is an object, expected a list"),
        ("0", "x", "[0] is a string, expected an object"),
        ("0/serialNumber", DELETE, "[0].serialNumber is missing"),
        ("0/serialNumber", 121823030072, "[0].serialNumber is a number, expected a string"),
        ("0/lastReportWatts", "58", "[0].lastReportWatts is a string"),
        ("0/maxReportWatts", True, "[0].maxReportWatts is a boolean"),
        ("0/lastReportDate", 1.5, "[0].lastReportDate is 1.5, expected a whole number"),
        ("0/devType", "1", "[0].devType is a string"),
    ],
    "ivp_meters": [
        ("0", None, "[0] is null, expected an object"),
        ("0/eid", DELETE, "[0].eid is missing"),
        ("0/state", True, "[0].state is a boolean, expected a string"),
        ("0/measurementType", DELETE, "[0].measurementType is missing"),
        ("0/phaseCount", "1", "[0].phaseCount is a string"),
    ],
    "ivp_meters_readings": [
        ("0/activePower", DELETE, "[0].activePower is missing"),
        ("0/actEnergyDlvd", "1", "[0].actEnergyDlvd is a string"),
        ("0/voltage", {}, "[0].voltage is an object"),
        ("0/channels", {}, "[0].channels is an object, expected a list"),
        ("0/channels/0", 1, "[0].channels[0] is a number, expected an object"),
        ("0/channels/0/eid", DELETE, "[0].channels[0].eid is missing"),
        ("0/channels/0/freq", True, "[0].channels[0].freq is a boolean"),
    ],
    "ivp_ensemble_inventory": [
        ("0", [], "[0] is a list, expected an object"),
        ("0/type", DELETE, "[0].type is missing"),
        ("0/devices", {}, "[0].devices is an object, expected a list"),
        ("0/devices/0/serial_num", DELETE, "[0].devices[0].serial_num is missing"),
        ("0/devices/0/percentFull", "100", "[0].devices[0].percentFull is a string"),
        ("0/devices/0/communicating", 1, "communicating is a number, expected a boolean"),
    ],
    "ivp_ensemble_power": [
        ("", [], "the body is a list, expected an object"),
        ("devices:", DELETE, "devices: is missing"),
        ("devices:", {}, "devices: is an object, expected a list"),
        ("devices:/0/real_power_mw", DELETE, "devices:[0].real_power_mw is missing"),
        ("devices:/0/real_power_mw", "0", "devices:[0].real_power_mw is a string"),
        ("devices:/0/soc", True, "devices:[0].soc is a boolean"),
    ],
    "ivp_ensemble_secctrl": [
        ("", [], "the body is a list, expected an object"),
        ("ENC_agg_soc", "92", "ENC_agg_soc is a string, expected a number"),
        ("Enc_max_available_capacity", True, "Enc_max_available_capacity is a boolean"),
    ],
    "ivp_ensemble_status": [
        ("", "closed", "the body is a string, expected an object"),
        ("relay", [], "relay is a list, expected an object"),
        ("relay/mains_oper_state", 1, "relay.mains_oper_state is a number"),
        ("inventory/serial_nums", ["1"], "inventory.serial_nums is a list"),
    ],
    "admin_lib_tariff": [
        ("tariff", DELETE, "tariff is missing"),
        ("tariff/storage_settings", [], "tariff.storage_settings is a list"),
        ("tariff/storage_settings/mode", DELETE, "tariff.storage_settings.mode is missing"),
        ("tariff/storage_settings/mode", None, "tariff.storage_settings.mode is null"),
        ("tariff/storage_settings/reserved_soc", "20", "storage_settings.reserved_soc is a string"),
        ("tariff/storage_settings/charge_from_grid", 0, "charge_from_grid is a number"),
    ],
}


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"),
    [
        pytest.param(name, path, value, expected, id=f"{name}:{path or 'body'}={value!r:.12}")
        for name, cases in WRONG.items()
        for path, value, expected in cases
    ],
)
def test_wrong_shape_is_refused(name: str, path: str, value: object, expected: str) -> None:
    assert_refused(name, _mutated(name, path, value), expected)


def test_unknown_keys_are_ignored() -> None:
    doc = json.loads(sample_body("api_v1_production"))
    doc["somethingNew"] = {"deep": [1, 2, {"x": None}]}
    assert parse.parse_v1_production(json.dumps(doc).encode()).watts_now == 689.0


def test_non_finite_literals_are_refused() -> None:
    body = (
        b'{"wattsNow": NaN, "wattHoursToday": 1, "wattHoursSevenDays": 1, "wattHoursLifetime": 1}'
    )
    assert_refused("api_v1_production", body, "wattsNow is not a finite number")
    body = body.replace(b"NaN", b"-Infinity")
    assert_refused("api_v1_production", body, "wattsNow is not a finite number")
    body = body.replace(b"-Infinity", b"1e400")
    assert_refused("api_v1_production", body, "wattsNow is not a finite number")


def test_load_json_messages() -> None:
    with pytest.raises(BadResponse, match=r"^bad response from /x: not JSON: the body is empty$"):
        parse.load_json(b"", "/x")
    with pytest.raises(BadResponse, match="not UTF-8"):
        parse.load_json(b"\xff", "/x")
    with pytest.raises(BadResponse, match="nested too deeply"):
        parse.load_json(b"[" * 100_000, "/x")
    assert parse.load_json(b'{"a": [1, 2.5, null]}', "/x") == {"a": [1, 2.5, None]}


# ---------------------------------------------------------------------------------------------
# Property tests: any JSON value, and documents shaped like the real ones with fuzzed leaves,
# give a model of the right types or BadResponse.

# In CI each parser gets three properties x 1000 examples; a quick run locally.
# GEM_ENVOY_FUZZ_EXAMPLES overrides both.
FUZZ_EXAMPLES = int(
    os.environ.get("GEM_ENVOY_FUZZ_EXAMPLES") or (1000 if os.environ.get("CI") else 200)
)
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


_MISSING = object()  # drawn instead of a dict value: leave the key out


def _sometimes(
    other: st.SearchStrategy[object], usual: st.SearchStrategy[object]
) -> st.SearchStrategy[object]:
    """`usual` nine times in ten, else `other`: mostly keep the shape, so inner checks run too."""
    return st.integers(0, 9).flatmap(lambda n: other if n == 0 else usual)


def shaped(sample: object) -> st.SearchStrategy[object]:
    """Documents like `sample`: any key may be missing, any leaf or branch may be replaced."""
    inner: st.SearchStrategy[object]
    if isinstance(sample, dict):
        values = {key: _sometimes(st.just(_MISSING), shaped(v)) for key, v in sample.items()}
        inner = st.fixed_dictionaries(values).map(
            lambda doc: {key: v for key, v in doc.items() if v is not _MISSING}
        )
    elif isinstance(sample, list):
        inner = st.lists(shaped(sample[0]), max_size=3) if sample else st.just([])
    else:
        inner = st.just(sample)
    return _sometimes(json_values, inner)


def _dump(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@pytest.mark.parametrize("name", PARSERS)
@FUZZ
@given(value=json_values)
def test_any_json_parses_or_refuses(name: str, value: object) -> None:
    parses_or_refuses(name, _dump(value))


@pytest.mark.parametrize("name", JSON_NAMES)
@FUZZ
@given(data=st.data())
def test_shaped_json_parses_or_refuses(name: str, data: st.DataObject) -> None:
    parses_or_refuses(name, _dump(data.draw(shaped(SAMPLES[name]))))


@pytest.mark.parametrize("name", PARSERS)
@FUZZ
@given(body=st.binary(max_size=64))
def test_any_bytes_parse_or_refuse(name: str, body: bytes) -> None:
    parses_or_refuses(name, body)


xml_text = st.text(max_size=16) | st.sampled_from(["true", "false", "D7.6.175", "R3.9.36"])


@FUZZ
@given(
    tag=st.sampled_from(["envoy_info", "envoy", "html"]),
    fields=st.dictionaries(
        st.sampled_from(["device/sn", "device/pn", "device/software", "device/imeter"]),
        xml_text,
    ),
    tokens=st.none() | xml_text,
)
def test_shaped_info_parses_or_refuses(
    tag: str, fields: dict[str, str], tokens: str | None
) -> None:
    root = ET.Element(tag)
    device = ET.SubElement(root, "device")
    for path, text in fields.items():
        ET.SubElement(device, path.split("/")[1]).text = text
    if tokens is not None:
        ET.SubElement(root, "web-tokens").text = tokens
    parses_or_refuses("info", ET.tostring(root, encoding="utf-8"))

"""Tests of the live-data parsers: `/stream/meter` events, `/ivp/livedata/status`, and the
per-phase `lines` of `/production.json`."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gem_envoy.envoy import parse
from gem_envoy.envoy.errors import BadResponse
from gem_envoy.envoy.models import LivePower
from tests.captures import real_body, require_captures

# ---------------------------------------------------------------------------------------------
# /stream/meter events

# The spec's example event (gateway-wire-formats.md 2.2): three phases, exporting on L1/L2.
THREE_PHASE_EVENT = (
    '{"production":{"ph-a":{"p":1523.4,"q":61.2,"s":1530.6,"v":236.8,"i":6.46,"pf":1.0,"f":50.01},'
    '"ph-b":{"p":1498.7,"q":58.9,"s":1505.3,"v":237.5,"i":6.34,"pf":1.0,"f":50.01},'
    '"ph-c":{"p":1511.9,"q":63.0,"s":1518.4,"v":235.9,"i":6.44,"pf":1.0,"f":50.01}},'
    '"net-consumption":{"ph-a":{"p":-1102.5,"q":-150.3,"s":1180.2,"v":236.9,"i":4.98,"pf":-0.93,'
    '"f":50.01},"ph-b":{"p":-640.1,"q":-98.4,"s":702.6,"v":237.6,"i":2.96,"pf":-0.91,"f":50.01},'
    '"ph-c":{"p":312.4,"q":-210.8,"s":405.7,"v":236.0,"i":1.72,"pf":0.77,"f":50.01}},'
    '"total-consumption":{"ph-a":{"p":420.9,"q":-89.1,"s":430.2,"v":236.8,"i":1.82,"pf":0.98,'
    '"f":50.01},"ph-b":{"p":858.6,"q":-39.5,"s":859.5,"v":237.5,"i":3.62,"pf":1.0,"f":50.01},'
    '"ph-c":{"p":1824.3,"q":-147.8,"s":1830.3,"v":235.9,"i":7.76,"pf":1.0,"f":50.01}}}'
)

ZERO = {"p": 0.0, "q": 0.0, "s": 0.0, "v": 0.0, "i": 0.0, "pf": 0.0, "f": 0.0}


def leg(p: float, v: float = 240.0) -> dict[str, float]:
    return {"p": p, "q": 0.0, "s": abs(p), "v": v, "i": abs(p) / v, "pf": 1.0, "f": 60.0}


def event(**channels: tuple[dict[str, float], ...]) -> str:
    """An event whose channels (production, net_consumption, ...) list their phases."""
    body: dict[str, object] = {}
    for name, phases in channels.items():
        keys = ("ph-a", "ph-b", "ph-c")
        body[name.replace("_", "-")] = dict(zip(keys, phases, strict=False))
    return json.dumps(body)


def test_three_phase_event_totals_and_phases() -> None:
    power = parse.meter_event(THREE_PHASE_EVENT)
    assert power.production_w == pytest.approx(4534.0)
    assert power.consumption_w == pytest.approx(3103.8)
    assert power.grid_w == pytest.approx(-1430.2)
    assert power.battery_w is None and power.soc_percent is None  # the stream has no battery
    assert power.production_phases_w == (1523.4, 1498.7, 1511.9)
    assert power.consumption_phases_w == (420.9, 858.6, 1824.3)
    assert power.grid_phases_w == (-1102.5, -640.1, 312.4)


def test_event_as_bytes_reads_the_same() -> None:
    assert parse.meter_event(THREE_PHASE_EVENT.encode()) == parse.meter_event(THREE_PHASE_EVENT)


def test_single_phase_event_has_no_phase_figures() -> None:
    # All three phase keys are sent on a single-phase site; the unused ones are all zero.
    text = event(
        production=(leg(812.5), ZERO, ZERO),
        net_consumption=(leg(-300.25), ZERO, ZERO),
        total_consumption=(leg(512.25), ZERO, ZERO),
    )
    power = parse.meter_event(text)
    assert (power.production_w, power.grid_w, power.consumption_w) == (812.5, -300.25, 512.25)
    assert power.production_phases_w == power.consumption_phases_w == power.grid_phases_w == ()


def test_split_phase_event_has_two_phases() -> None:
    text = event(
        production=(leg(400.0, 120), leg(410.0, 120), ZERO),
        net_consumption=(leg(-100.0, 120), leg(50.0, 120), ZERO),
        total_consumption=(leg(300.0, 120), leg(460.0, 120), ZERO),
    )
    power = parse.meter_event(text)
    assert power.production_phases_w == (400.0, 410.0)
    assert power.grid_phases_w == (-100.0, 50.0)
    assert power.consumption_phases_w == (300.0, 460.0)
    assert power.grid_w == -50.0


def test_a_phase_with_voltage_but_no_power_is_in_use() -> None:
    # Night on a three-phase site: nothing flows on L3, but it is there.
    quiet = dict(ZERO, v=230.0, f=50.0)
    text = event(production=(leg(0.0), leg(0.0), quiet), net_consumption=(leg(5.0), ZERO, ZERO))
    power = parse.meter_event(text)
    assert power.production_phases_w == (0.0, 0.0, 0.0)
    assert power.grid_phases_w == (5.0, 0.0, 0.0)


def test_phase_activity_counts_every_channel() -> None:
    # L2 is used only by the load: the production still reports L1 and L2.
    text = event(
        production=(leg(100.0), ZERO, ZERO),
        total_consumption=(leg(10.0), leg(20.0), ZERO),
    )
    power = parse.meter_event(text)
    assert power.production_phases_w == (100.0, 0.0)
    assert power.consumption_phases_w == (10.0, 20.0)
    assert power.grid_w is None and power.grid_phases_w == ()


def test_a_missing_channel_is_none_with_no_phases() -> None:
    text = event(production=(leg(100.0), leg(200.0), ZERO))
    power = parse.meter_event(text)
    assert power.production_w == 300.0 and power.production_phases_w == (100.0, 200.0)
    assert power.consumption_w is None and power.consumption_phases_w == ()
    assert power.grid_w is None and power.grid_phases_w == ()


def test_a_null_channel_and_a_missing_phase_read_as_absent() -> None:
    body = json.loads(THREE_PHASE_EVENT)
    body["net-consumption"] = None
    del body["production"]["ph-c"]
    power = parse.meter_event(json.dumps(body))
    assert power.grid_w is None
    assert power.production_phases_w == (1523.4, 1498.7, 0.0)  # L3 still in use elsewhere


def test_unknown_fields_are_ignored() -> None:
    body = json.loads(THREE_PHASE_EVENT)
    body["storage"] = {"ph-a": leg(1.0)}
    body["production"]["ph-a"]["note"] = "text"
    assert parse.meter_event(json.dumps(body)) == parse.meter_event(THREE_PHASE_EVENT)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b["production"].__setitem__("ph-b", 3), "production.ph-b is a number"),
        (lambda b: b["production"]["ph-a"].pop("p"), "production.ph-a.p is missing"),
        (
            lambda b: b["net-consumption"]["ph-c"].__setitem__("p", "1"),
            "net-consumption.ph-c.p is a string, expected a number",
        ),
        (
            lambda b: b["total-consumption"]["ph-a"].__setitem__("q", True),
            "total-consumption.ph-a.q is a boolean, expected a number",
        ),
        (lambda b: b.__setitem__("production", []), "production is a list, expected an object"),
    ],
)
def test_errors_name_the_field(mutate: Any, message: str) -> None:
    body = json.loads(THREE_PHASE_EVENT)
    mutate(body)
    with pytest.raises(BadResponse, match="/stream/meter") as raised:
        parse.meter_event(json.dumps(body))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the body is empty"),
        ("{", "not JSON"),
        ("[]", "the body is a list, expected an object"),
        ("{}", "the event has none of production, total-consumption, net-consumption"),
        ('{"error": "busy"}', "the gateway answered with an error instead of data (busy)"),
        ('{"production":{"ph-a":{"p":1e999}}}', "production.ph-a.p is not a finite number"),
    ],
)
def test_bodies_that_are_no_event(text: str, message: str) -> None:
    with pytest.raises(BadResponse) as raised:
        parse.meter_event(text)
    assert message in str(raised.value)


# ---------------------------------------------------------------------------------------------
# /ivp/livedata/status

# The spec's example body (gateway-wire-formats.md 3.2): three phases, battery charging on L1/L2.
LIVEDATA: dict[str, Any] = {
    "connection": {
        "mqtt_state": "connected", "prov_state": "configured", "auth_state": "ok",
        "sc_stream": "enabled", "sc_debug": "disabled",
    },
    "meters": {
        "last_update": 1785600120, "soc": 62, "main_relay_state": 1, "gen_relay_state": 5,
        "backup_bat_mode": 1, "backup_soc": 20, "is_split_phase": 0, "phase_count": 3,
        "enc_agg_soc": 62, "enc_agg_energy": 6200, "acb_agg_soc": 0, "acb_agg_energy": 0,
        "pv": {
            "agg_p_mw": 4815230, "agg_s_mva": 4834100, "agg_p_ph_a_mw": 1605100,
            "agg_p_ph_b_mw": 1598730, "agg_p_ph_c_mw": 1611400, "agg_s_ph_a_mva": 1611900,
            "agg_s_ph_b_mva": 1604200, "agg_s_ph_c_mva": 1618000,
        },
        "storage": {
            "agg_p_mw": -2010000, "agg_s_mva": -2024100, "agg_p_ph_a_mw": -1005000,
            "agg_p_ph_b_mw": -1005000, "agg_p_ph_c_mw": 0, "agg_s_ph_a_mva": -1012300,
            "agg_s_ph_b_mva": -1011800, "agg_s_ph_c_mva": 0,
        },
        "grid": {
            "agg_p_mw": -1902410, "agg_s_mva": -1970000, "agg_p_ph_a_mw": -380000,
            "agg_p_ph_b_mw": -140230, "agg_p_ph_c_mw": -1382180, "agg_s_ph_a_mva": -402500,
            "agg_s_ph_b_mva": -171900, "agg_s_ph_c_mva": -1395600,
        },
        "load": {
            "agg_p_mw": 902820, "agg_s_mva": 957800, "agg_p_ph_a_mw": 220100,
            "agg_p_ph_b_mw": 453500, "agg_p_ph_c_mw": 229220, "agg_s_ph_a_mva": 236400,
            "agg_s_ph_b_mva": 470100, "agg_s_ph_c_mva": 251300,
        },
        "generator": {
            "agg_p_mw": 0, "agg_s_mva": 0, "agg_p_ph_a_mw": 0, "agg_p_ph_b_mw": 0,
            "agg_p_ph_c_mw": 0, "agg_s_ph_a_mva": 0, "agg_s_ph_b_mva": 0, "agg_s_ph_c_mva": 0,
        },
    },
    "tasks": {"task_id": 2034811932, "timestamp": 1785512345},
    "counters": {"main_CfgLoad": 1, "MqttClient_publish": 15230, "rest_Status": 912},
}  # fmt: skip

# Matthew1471's older shape: totals only, no per-phase figures, no phase count.
OLD_LIVEDATA: dict[str, Any] = {
    "connection": {"sc_stream": "disabled"},
    "meters": {
        "last_update": 1685000000, "soc": 0, "main_relay_state": 1, "gen_relay_state": 5,
        "backup_bat_mode": 1, "backup_soc": 0,
        "pv": {"agg_p_mw": 29212, "agg_s_mva": 120000},
        "storage": {"agg_p_mw": 0, "agg_s_mva": 0},
        "grid": {"agg_p_mw": 340582, "agg_s_mva": 400000},
        "load": {"agg_p_mw": 369794, "agg_s_mva": 420000},
        "generator": {"agg_p_mw": 0, "agg_s_mva": 0},
    },
}  # fmt: skip


def livedata(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def changed(body: dict[str, Any], **meters: Any) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    copied["meters"].update(meters)
    return copied


def test_livedata_three_phase_in_watts() -> None:
    status = parse.livedata_status(livedata(LIVEDATA))
    assert status.stream_enabled is True
    assert status.last_update == 1785600120
    power = status.power
    assert power.production_w == 4815.23
    assert power.consumption_w == 902.82
    assert power.grid_w == -1902.41
    assert power.battery_w == -2010.0  # charging
    assert power.soc_percent == 62
    assert power.production_phases_w == (1605.1, 1598.73, 1611.4)
    assert power.consumption_phases_w == (220.1, 453.5, 229.22)
    assert power.grid_phases_w == (-380.0, -140.23, -1382.18)
    # The balance the spec checks: load = pv + grid + storage.
    assert power.consumption_w == pytest.approx(power.production_w + power.grid_w + power.battery_w)


def test_livedata_split_phase_has_two_phases() -> None:
    body = changed(LIVEDATA, is_split_phase=1)
    del body["meters"]["phase_count"]
    power = parse.livedata_status(livedata(body)).power
    assert power.production_phases_w == (1605.1, 1598.73)
    assert power.grid_phases_w == (-380.0, -140.23)


def test_livedata_phase_count_wins() -> None:
    power = parse.livedata_status(livedata(changed(LIVEDATA, phase_count=1))).power
    assert power.production_phases_w == power.consumption_phases_w == power.grid_phases_w == ()
    assert power.production_w == 4815.23


def test_livedata_phases_from_non_zero_figures_without_a_count() -> None:
    body = changed(LIVEDATA)
    del body["meters"]["phase_count"], body["meters"]["is_split_phase"]
    assert parse.livedata_status(livedata(body)).power.grid_phases_w == (-380.0, -140.23, -1382.18)
    for name in ("pv", "storage", "grid", "load"):
        for key in ("agg_p_ph_b_mw", "agg_p_ph_c_mw", "agg_s_ph_b_mva", "agg_s_ph_c_mva"):
            body["meters"][name][key] = 0
    power = parse.livedata_status(livedata(body)).power
    assert power.grid_phases_w == ()  # one phase in use


def test_livedata_old_firmware_single_phase_without_battery() -> None:
    status = parse.livedata_status(livedata(OLD_LIVEDATA))
    assert status.stream_enabled is False
    assert status.power == LivePower(
        production_w=29.212,
        consumption_w=369.794,
        grid_w=340.582,
        battery_w=None,  # no battery: no battery figures, not 0 W
        soc_percent=None,
    )


def test_livedata_battery_known_by_its_energy_power_or_soc() -> None:
    no_battery = changed(LIVEDATA, soc=0, enc_agg_soc=0, enc_agg_energy=0)
    no_battery["meters"]["storage"]["agg_p_mw"] = 0
    assert parse.livedata_status(livedata(no_battery)).power.battery_w is None
    acb = changed(no_battery, acb_agg_energy=500, acb_agg_soc=40, soc=40)
    assert parse.livedata_status(livedata(acb)).power.soc_percent == 40  # enc_agg_soc is 0
    assert parse.livedata_status(livedata(acb)).power.battery_w == 0.0
    charging_from_empty = copy.deepcopy(no_battery)
    charging_from_empty["meters"]["storage"]["agg_p_mw"] = -1500
    power = parse.livedata_status(livedata(charging_from_empty)).power
    assert power.battery_w == -1.5 and power.soc_percent == 0


def test_livedata_soc_prefers_enc_agg_soc() -> None:
    power = parse.livedata_status(livedata(changed(LIVEDATA, soc=55, enc_agg_soc=61))).power
    assert power.soc_percent == 61
    body = changed(LIVEDATA, soc=55)
    del body["meters"]["enc_agg_soc"]
    assert parse.livedata_status(livedata(body)).power.soc_percent == 55


def test_livedata_missing_channel_is_none() -> None:
    body = changed(LIVEDATA)
    del body["meters"]["load"]
    body["meters"]["pv"] = None
    power = parse.livedata_status(livedata(body)).power
    assert power.consumption_w is None and power.consumption_phases_w == ()
    assert power.production_w is None and power.production_phases_w == ()
    assert power.grid_w == -1902.41


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.pop("meters"), "meters is missing"),
        (lambda b: b["meters"]["pv"].pop("agg_p_mw"), "meters.pv.agg_p_mw is missing"),
        (
            lambda b: b["meters"]["grid"].__setitem__("agg_p_ph_c_mw", "x"),
            "meters.grid.agg_p_ph_c_mw is a string, expected a number",
        ),
        (
            lambda b: b["meters"]["load"].pop("agg_p_ph_b_mw"),
            "meters.load.agg_p_ph_b_mw is missing",
        ),
        (lambda b: b["meters"].__setitem__("storage", 5), "meters.storage is a number"),
        (
            lambda b: b["meters"].__setitem__("last_update", 1.5),
            "meters.last_update is 1.5, expected a whole number",
        ),
        (
            lambda b: b["meters"].__setitem__("phase_count", "3"),
            "meters.phase_count is a string, expected a number",
        ),
        (
            lambda b: b["connection"].__setitem__("sc_stream", 1),
            "connection.sc_stream is a number, expected a string",
        ),
        (
            lambda b: (
                b["meters"].__setitem__("soc", None) or b["meters"].__setitem__("enc_agg_soc", [])
            ),
            "meters.enc_agg_soc is a list, expected a number",
        ),
    ],
)
def test_livedata_errors_name_the_field(mutate: Any, message: str) -> None:
    body = copy.deepcopy(LIVEDATA)
    mutate(body)
    with pytest.raises(BadResponse, match="/ivp/livedata/status") as raised:
        parse.livedata_status(livedata(body))
    assert message in str(raised.value)


def test_livedata_refusal_body_is_no_data() -> None:
    with pytest.raises(BadResponse, match="error instead of data"):
        parse.livedata_status(b'{"error": "404 - Not Found"}')


# ---------------------------------------------------------------------------------------------
# /production.json lines


def test_production_lines_of_a_three_phase_capture() -> None:
    require_captures()
    body = real_body("7.6.175_with_cts_3phase", "production.json")
    if body is None:
        pytest.skip("7.6.175_with_cts_3phase has no production.json served with 200")
    report = parse.parse_production(body)
    inverters, eim = report.production
    assert inverters.lines_w == ()
    assert eim.lines_w == (-2.864, 0.0, -3.617)
    total, net = report.consumption
    assert total.measurement_type == "total-consumption"
    assert total.lines_w == (88.573, 123.364, -2.853)
    assert net.lines_w == (91.437, 123.364, 0.764)
    assert all(entry.lines_w == () for entry in report.storage)


def test_production_lines_of_every_details_capture() -> None:
    # Each `production.json_details_1` capture: a `lines_w` entry per line, L1 first.
    root = require_captures()
    found = sorted(root.glob("*/production.json_details_1"))
    if not found:
        pytest.skip(f"no production.json_details_1 capture in {root}")
    for path in found:
        raw = json.loads(path.read_bytes())
        report = parse.parse_production(path.read_bytes())
        for key in ("production", "consumption"):
            for entry, parsed in zip(raw.get(key) or [], getattr(report, key), strict=True):
                expected = tuple(float(line["wNow"]) for line in entry.get("lines", []))
                assert parsed.lines_w == expected, (path, key)


def test_production_lines_missing_or_broken() -> None:
    def production(lines: object) -> bytes:
        entry = {"type": "eim", "activeCount": 1, "measurementType": "production", "wNow": 5}
        return json.dumps({"production": [dict(entry, lines=lines)]}).encode()

    assert parse.parse_production(production(None)).production[0].lines_w == ()
    gap = [{"wNow": 1.0}, {"whToday": 3}, {"wNow": 2.0}]
    assert parse.parse_production(production(gap)).production[0].lines_w == ()
    with pytest.raises(BadResponse, match=r"production\[0\]\.lines\[1\]\.wNow is a string"):
        parse.parse_production(production([{"wNow": 1.0}, {"wNow": "2"}]))
    with pytest.raises(BadResponse, match=r"production\[0\]\.lines\[0\] is a list"):
        parse.parse_production(production([[]]))
    with pytest.raises(BadResponse, match=r"production\[0\]\.lines is an object"):
        parse.parse_production(production({}))

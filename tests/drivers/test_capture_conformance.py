"""Every real gateway capture, replayed from memory (`CaptureTransport`) to the poll cycle of
`gem-envoy poll --zones all`, checked against the rules of driver-semantics.md section 2;
and once over HTTPS through the command line, to show that both ways agree.

The expected values are worked out here from the raw captured JSON, rule by rule, as the
contract states them; the driver's own derivation is not consulted. Where an enabled
production CT has readings, the power attributes are the same rules applied to the CTs'
readings (`/ivp/meters/readings`, which stand in for `/production.json` between its reads):
they are checked against the raw readings, the rest against `/production.json`.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gem_envoy.drivers.enphase_envoy.derive import token_attributes
from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import UnsupportedFirmware
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import (
    capture_folders,
    capture_transport,
    firmware_major,
    real_body,
    require_captures,
)
from tests.simulator import gem_envoy, poll_json, simulator

TOKEN_FOLDERS = [f for f in capture_folders() if firmware_major(f) >= 7]
D5_FOLDERS = [f for f in capture_folders() if 0 < firmware_major(f) < 7]
IDENTITY = {"serial_number", "token_type", "token_expires_at"}


def half_up(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def raw(folder: str, name: str) -> Any:
    body = real_body(folder, name)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def pick(entries: list[dict[str, Any]], kind: str, *measured: str | None) -> dict[str, Any] | None:
    for e in entries:
        wanted = e.get("type") == kind and e.get("measurementType") in measured
        if wanted and e.get("activeCount", 0) > 0:
            return e
    return None


def expected_production(pj: dict[str, Any], v1: dict[str, Any] | None) -> dict[str, Any]:
    eim = pick(pj.get("production", []), "eim", "production", None)
    inv = next((e for e in pj.get("production", []) if e.get("type") == "inverters"), None)
    out: dict[str, Any] = {}
    source = eim or inv
    if source is not None:
        out["production_now_w"] = half_up(source["wNow"])
        if source.get("readingTime"):
            stamp = source["readingTime"]
            out["last_report_time"] = _iso(stamp)
    elif v1 is not None:
        out["production_now_w"] = half_up(v1["wattsNow"])
    today = eim["whToday"] if eim else (v1["wattHoursToday"] if v1 else None)
    if today is not None:
        out["production_today_wh"] = half_up(today)
    life = (eim or inv or {}).get("whLifetime", v1["wattHoursLifetime"] if v1 else None)
    if life is not None:
        out["production_lifetime_wh"] = half_up(life)
    if inv is not None:
        out["inverter_count"] = inv["activeCount"]
    return out


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_consumption(pj: dict[str, Any]) -> dict[str, Any]:
    eim = pick(pj.get("production", []), "eim", "production", None)
    total = pick(pj.get("consumption", []), "eim", "total-consumption")
    net = pick(pj.get("consumption", []), "eim", "net-consumption")
    out: dict[str, Any] = {}
    copy_of_net = (
        total is not None
        and net is not None
        and (total["wNow"], total["whLifetime"]) == (net["wNow"], net["whLifetime"])
    )
    if total is not None and not copy_of_net:
        out["consumption_now_w"] = half_up(total["wNow"])
        out["consumption_today_wh"] = half_up(total["whToday"])
        out["consumption_lifetime_wh"] = half_up(total["whLifetime"])
    elif net is not None and eim is not None:
        out["consumption_now_w"] = half_up(net["wNow"] + eim["wNow"])
        out["consumption_today_wh"] = half_up(net["whToday"] + eim["whToday"])
        out["consumption_lifetime_wh"] = half_up(net["whLifetime"] + eim["whLifetime"])
    if net is not None:
        out["net_power_w"] = half_up(-net["wNow"])
    elif eim is not None and total is not None:
        out["net_power_w"] = half_up(eim["wNow"] - total["wNow"])
    return out


def expected_battery(folder: str, pj: dict[str, Any]) -> dict[str, Any]:
    inventory = raw(folder, "ivp_ensemble_inventory") or []
    encharges = [d for g in inventory if g.get("type") == "ENCHARGE" for d in g.get("devices", [])]
    acb = next(
        (e for e in pj.get("storage", []) if e.get("type") == "acb" and e["activeCount"] > 0),
        None,
    )
    out: dict[str, Any] = {}
    if encharges:
        power = raw(folder, "ivp_ensemble_power")
        secctrl = raw(folder, "ivp_ensemble_secctrl")
        if power is not None:
            watts = sum(d["real_power_mw"] for d in power["devices:"]) / 1000
            out["battery_now_w"] = half_up(watts)
            out["battery_state"] = (
                "discharging" if watts > 50 else "charging" if watts < -50 else "idle"
            )
        if secctrl is not None:
            out["battery_soc_percent"] = float(secctrl["ENC_agg_soc"])
            out["battery_capacity_wh"] = half_up(secctrl["ENC_agg_avail_energy"])
        else:
            weight = sum(d["encharge_capacity"] for d in encharges)
            soc = sum(d["percentFull"] * d["encharge_capacity"] for d in encharges) / weight
            out["battery_soc_percent"] = soc
        out |= expected_storage_settings(folder)
    elif acb is not None:
        out["battery_now_w"] = half_up(acb["wNow"])
        out["battery_soc_percent"] = float(acb["percentFull"])
        out["battery_capacity_wh"] = half_up(acb["whNow"])
        out["battery_state"] = acb["state"]
    return out


def expected_storage_settings(folder: str) -> dict[str, Any]:
    """With an Encharge: the battery settings the tariff holds (savings-mode is economy)."""
    tariff = raw(folder, "admin_lib_tariff") or {}
    settings = tariff.get("tariff", {}).get("storage_settings")
    if settings is None:
        return {}
    mode = settings.get("mode")
    out: dict[str, Any] = {}
    if mode is not None:
        out["storage_mode"] = {"savings-mode": "economy"}.get(mode, mode)
    if settings.get("reserved_soc") is not None:
        out["battery_reserve_soc_percent"] = float(settings["reserved_soc"])
    if settings.get("charge_from_grid") is not None:
        out["charge_from_grid"] = settings["charge_from_grid"]
    return out


# Each CT's two directions, as the attribute of the energy it delivered to the home (dlvd)
# and of what it received (rcvd): from the grid / to the grid through the net CT, out of /
# into the battery through the storage CT.
CT_DIRECTIONS = {
    "net-consumption": ("grid_import_lifetime_wh", "grid_export_lifetime_wh"),
    "storage": ("battery_discharged_lifetime_wh", "battery_charged_lifetime_wh"),
}


def expected_energy(folder: str) -> dict[str, Any]:
    """The CTs' lifetime energy per direction: `/ivp/meters` names each enabled CT by eid,
    `/ivp/meters/readings` holds its `actEnergyDlvd` and `actEnergyRcvd` (Wh); a reading of
    an eid the CT list does not name, or of a disabled CT, gives nothing."""
    kinds = {
        m["eid"]: m["measurementType"]
        for m in raw(folder, "ivp_meters") or []
        if m.get("state") == "enabled" and m.get("measurementType") in CT_DIRECTIONS
    }
    out: dict[str, Any] = {}
    for reading in raw(folder, "ivp_meters_readings") or []:
        kind = kinds.get(reading["eid"])
        if kind is not None:
            delivered, received = CT_DIRECTIONS[kind]
            out[delivered] = half_up(reading["actEnergyDlvd"])
            out[received] = half_up(reading["actEnergyRcvd"])
    return out


def expected_zones(folder: str) -> dict[str, dict[str, Any]]:
    inverters = raw(folder, "api_v1_production_inverters") or []
    return {
        i["serialNumber"]: {
            "last_w": i["lastReportWatts"],
            "max_w": i["maxReportWatts"],
            "state": str(i["lastReportWatts"]),
        }
        | ({"last_report_time": _iso(i["lastReportDate"])} if i.get("lastReportDate") else {})
        for i in inverters
        if i.get("devType", 1) == 1
    }


def expected_phases(pj: dict[str, Any]) -> dict[str, Any]:
    """Per-phase power from the CT entries' `lines`: only where more than one phase is in
    use (the last phase with a non-zero value in any entry marks how many)."""
    eim = pick(pj.get("production", []), "eim", "production", None)
    total = pick(pj.get("consumption", []), "eim", "total-consumption")
    net = pick(pj.get("consumption", []), "eim", "net-consumption")
    watts = {
        name: [line["wNow"] for line in entry.get("lines", [])]
        for name, entry in (("production", eim), ("total", total), ("net", net))
        if entry is not None
    }
    used = max((i + 1 for lines in watts.values() for i, w in enumerate(lines) if w), default=0)
    if used < 2:
        return {}
    out: dict[str, Any] = {}
    for phase in range(used):
        suffix = f"_l{phase + 1}"
        out["production_now_w" + suffix] = half_up(watts["production"][phase])
        out["consumption_now_w" + suffix] = half_up(watts["total"][phase])
        out["net_power_w" + suffix] = half_up(-watts["net"][phase])
    return out


POWER = ("production_now_w", "consumption_now_w", "net_power_w")


def _ct_readings(folder: str) -> dict[str, dict[str, Any]]:
    """The readings of the enabled CTs, by measurement type (the first of each)."""
    readings = {r["eid"]: r for r in raw(folder, "ivp_meters_readings") or []}
    found: dict[str, dict[str, Any]] = {}
    for meter in raw(folder, "ivp_meters") or []:
        if meter.get("state") == "enabled" and meter["eid"] in readings:
            found.setdefault(meter["measurementType"], readings[meter["eid"]])
    return found


def expected_power_from_readings(folder: str) -> dict[str, Any] | None:
    """Power now and per phase from the CTs' readings, by the section 2 rules on the CTs:
    production CT; total CT, or net + production when it is missing or repeats net; minus
    the net CT. None without a production CT reading."""
    cts = _ct_readings(folder)
    production, total, net = (cts.get(k) for k in ("production", *CONSUMPTION_CTS))
    if production is None:
        return None
    key = ("activePower", "actEnergyDlvd")
    repeats_net = total is not None and net is not None and all(total[k] == net[k] for k in key)
    from_total = total is not None and not repeats_net

    def each(value: Any) -> tuple[float | None, float | None, float | None]:
        consumption = value(total) if from_total else None
        if not from_total and net is not None:
            consumption = value(net) + value(production)
        exported = -value(net) if net is not None else None
        if net is None and total is not None:
            exported = value(production) - value(total)
        return value(production), consumption, exported

    out: dict[str, Any] = {
        name: half_up(w)
        for name, w in zip(POWER, each(lambda r: r["activePower"]), strict=True)
        if w is not None
    }
    out["last_report_time"] = _iso(production["timestamp"])
    channels = {
        name: [c["activePower"] for c in r.get("channels", [])]
        for name, r in (("production", production), ("total", total), ("net", net))
        if r is not None
    }
    used = max((i + 1 for ws in channels.values() for i, w in enumerate(ws) if w), default=0)
    for phase in range(used if used >= 2 else 0):

        def at(r: dict[str, Any], phase: int = phase) -> float:
            return float(r["channels"][phase]["activePower"])

        for name, w in zip(POWER, each(at), strict=True):
            if w is not None:
                out[f"{name}_l{phase + 1}"] = half_up(w)
    return out


CONSUMPTION_CTS = ("total-consumption", "net-consumption")


def with_readings_power(expected: dict[str, Any], folder: str) -> dict[str, Any]:
    """`expected` (from production.json) with its power, phases and report time replaced
    by the readings', where these give every power attribute production.json gives."""
    power = expected_power_from_readings(folder)
    pj = raw(folder, "production.json_details_1") or raw(folder, "production.json") or {}
    acb = any(e.get("type") == "acb" and e["activeCount"] > 0 for e in pj.get("storage", []))
    if power is None or acb:  # an active AC battery: /production.json every cycle
        return expected

    def is_power(name: str) -> bool:
        return name.split("_l")[0] in POWER if name.startswith(POWER) else False

    if not all(name in power for name in expected if is_power(name)):
        return expected
    kept = {k: v for k, v in expected.items() if not is_power(k) and k != "last_report_time"}
    return kept | power


async def poll_capture(transport: CaptureTransport) -> dict[str, Any]:
    """What `gem-envoy poll --zones all` prints, from the same poll cycle, served in memory."""
    client = EnvoyClient(transport, transport.mint("installer"))
    poller = GatewayPoller(client, all_zones=True)
    try:
        await poller.connect()
        result = await poller.cycle()
    finally:
        await client.close()
    assert poller.info is not None
    identity = token_attributes(client.claims) | {"serial_number": poller.info.serial}
    return {"device": identity | result.device, "zones": result.zones or {}}


@pytest.mark.parametrize("folder", TOKEN_FOLDERS or ["(no captures)"])
async def test_poll_of_capture_follows_the_attribute_contract(folder: str) -> None:
    transport = capture_transport(folder)
    # The first read asks for the per-phase lines (?details=1): a capture that recorded
    # that answer too serves it.
    pj = raw(folder, "production.json_details_1") or raw(folder, "production.json")
    v1 = raw(folder, "api_v1_production")
    polled = await poll_capture(transport)

    device = polled["device"]
    telemetry = {k: v for k, v in device.items() if k not in IDENTITY}
    expected = expected_production(pj, v1) | expected_consumption(pj) | expected_phases(pj)
    expected = with_readings_power(expected, folder)
    expected |= expected_battery(folder, pj) | expected_energy(folder)
    if raw(folder, "api_v1_production_inverters") is not None:  # what new zones are checked against
        expected["inverter_serials"] = ",".join(expected_zones(folder))
    assert telemetry == expected
    assert polled["zones"] == expected_zones(folder)
    assert device["token_type"] == "installer"
    assert device["serial_number"] == transport.serial
    # One poll cycle asks each endpoint at most once, and checks the token once.
    assert all(count == 1 for count in transport.requests.values()), transport.requests
    assert transport.stats.check_jwt == 1


def test_the_ct_energy_attributes_come_from_the_captures_with_a_net_or_storage_ct() -> None:
    """Which token-era captures give grid and battery energy: those whose CT list enables a
    net CT (and a storage CT), and whose readings were captured; absent everywhere else
    (the test above checks both ways on each capture)."""
    require_captures()
    grid = {f for f in TOKEN_FOLDERS if "grid_import_lifetime_wh" in expected_energy(f)}
    battery = {f for f in TOKEN_FOLDERS if "battery_charged_lifetime_wh" in expected_energy(f)}
    assert grid == {
        "7.6.175_vw_metered_battery",
        "7.6.175_with_cts",
        "7.6.175_with_cts_3phase",
        "8.2.127_with_3cts_and_battery_split",
        "8.2.127_with_generator_running",
        "8.2.4345_with_device_data",
        "8.2.4382_ACB",
        "8.3.5169_ACB_inventory",
        "8.3.5169_with_generator",
    }
    assert battery == {"7.6.175_vw_metered_battery", "8.2.127_with_3cts_and_battery_split"}


def _enabled_ct(folder: str, kind: str) -> dict[str, Any] | None:
    eids = {
        m["eid"]
        for m in raw(folder, "ivp_meters") or []
        if m["state"] == "enabled" and m["measurementType"] == kind
    }
    return next((r for r in raw(folder, "ivp_meters_readings") or [] if r["eid"] in eids), None)


def test_the_net_ct_delivers_what_the_grid_imports() -> None:
    """Why actEnergyDlvd is import: wherever production.json's net-consumption entry is
    active too and both were read within a minute, the CT's power has that entry's sign
    (positive = importing) and dlvd - rcvd is that entry's lifetime (import - export) within
    0.5 %. (Some folders hold readings of another day: 7.6.175_with_cts_3phase reuses
    7.6.175_with_cts's.)"""
    require_captures()
    compared = []
    for folder in TOKEN_FOLDERS:
        pj = raw(folder, "production.json") or {}
        net = pick(pj.get("consumption", []), "eim", "net-consumption")
        ct = _enabled_ct(folder, "net-consumption")
        if net is None or ct is None or abs(ct["timestamp"] - net["readingTime"]) > 60:
            continue
        assert math.copysign(1, ct["activePower"]) == math.copysign(1, net["wNow"]), folder
        balance = ct["actEnergyDlvd"] - ct["actEnergyRcvd"]
        assert balance == pytest.approx(net["whLifetime"], rel=0.005), folder
        compared.append(folder)
    assert len(compared) == 7, compared


def test_the_production_ct_delivers_what_production_counts() -> None:
    """Why the production CT's actEnergyDlvd moves production's counters on between
    /production.json reads: wherever both were read within a minute, it is the production
    entry's whLifetime to within what the panels make in those seconds (its received
    energy, the night-time draw, is not in it), and its power has that entry's sign."""
    require_captures()
    compared = []
    for folder in TOKEN_FOLDERS:
        pj = raw(folder, "production.json") or {}
        eim = pick(pj.get("production", []), "eim", "production", None)
        ct = _enabled_ct(folder, "production")
        if eim is None or ct is None or abs(ct["timestamp"] - eim["readingTime"]) > 60:
            continue
        seconds = abs(ct["timestamp"] - eim["readingTime"]) + 1
        made = max(abs(ct["activePower"]), abs(eim["wNow"])) * seconds / 3600
        assert abs(ct["actEnergyDlvd"] - eim["whLifetime"]) <= made + 1, folder
        assert math.copysign(1, ct["activePower"]) == math.copysign(1, eim["wNow"]), folder
        compared.append(folder)
    assert len(compared) == 8, compared


def test_the_storage_ct_receives_what_the_battery_charges() -> None:
    """Why actEnergyRcvd is charge: the storage CT's power is negative (receiving) while every
    Encharge charges (negative real_power_mw), and a battery gives back less than it took,
    so its received energy is the larger on every capture with a storage CT."""
    folder = "8.2.127_with_3cts_and_battery_split"
    capture_transport(folder)  # skips without the captures
    ct = _enabled_ct(folder, "storage")
    assert ct is not None and ct["activePower"] < 0
    assert all(d["real_power_mw"] < 0 for d in raw(folder, "ivp_ensemble_power")["devices:"])
    for each in ("8.2.127_with_3cts_and_battery_split", "7.6.175_vw_metered_battery"):
        ct = _enabled_ct(each, "storage")
        assert ct is not None and ct["actEnergyRcvd"] > ct["actEnergyDlvd"]


@pytest.mark.parametrize("folder", D5_FOLDERS or ["(no captures)"])
async def test_pre_token_gateway_is_refused_before_any_token_is_sent(folder: str) -> None:
    transport = capture_transport(folder)
    client = EnvoyClient(transport, transport.mint("installer"))
    with pytest.raises(UnsupportedFirmware, match=r"pre-token \(D5\)"):
        await GatewayPoller(client).connect()
    assert transport.requests == {"/info": 1}


# Over real HTTPS and through the command line, once each: the in-memory replay above must
# agree with what a user of `gem-envoy poll` sees.


def test_the_command_line_over_https_agrees_with_the_replay_in_memory(tmp_path: Path) -> None:
    folder = (TOKEN_FOLDERS or ["(no captures)"])[-1]
    transport = capture_transport(folder)
    with simulator(tmp_path, ["--capture", str(transport.source.folder)]) as sim:
        over_https = poll_json(sim, "--zones", "all")
    in_memory = asyncio.run(poll_capture(transport))
    # Each side minted its own token: only its expiry may differ.
    for polled in (over_https, in_memory):
        polled["device"].pop("token_expires_at")  # type: ignore[union-attr]
    assert over_https == in_memory


def test_pre_token_gateway_gets_one_clear_error_line(tmp_path: Path) -> None:
    folder = (D5_FOLDERS or ["(no captures)"])[-1]
    transport = capture_transport(folder)
    with simulator(tmp_path, ["--capture", str(transport.source.folder)]) as sim:
        result = gem_envoy(
            "poll", "--ip", sim.host, "--port", str(sim.port), "--token-file", str(sim.token_file)
        )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pre-token (D5)" in lines[0]
    assert "Traceback" not in result.stderr

"""The synthetic gateway's endpoints: shapes, consistency at one instant, overrides."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from defusedxml import ElementTree

from gem_envoy.sim import SimServer

from .conftest import MakeSim
from .helpers import MIDNIGHT, client

Json = dict[str, Any]


async def fetch(http: httpx.AsyncClient, path: str) -> Any:
    response = await http.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def frozen(make_sim: MakeSim, **options: Any) -> tuple[SimServer, httpx.AsyncClient]:
    """A simulator whose clock stands still, so every request sees the same instant."""
    sim = await make_sim(speed=0, **options)
    return sim, client(sim, sim.mint_token("installer", 3600))


def by_type(entries: list[Json], kind: str) -> Json:
    return next(e for e in entries if e.get("measurementType", e["type"]) == kind)


async def test_endpoints_agree_at_one_instant(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim, battery=True)
    async with http:
        prod = await fetch(http, "/production.json")
        v1 = await fetch(http, "/api/v1/production")
        inverters = await fetch(http, "/api/v1/production/inverters")
        readings = await fetch(http, "/ivp/meters/readings")
        power = await fetch(http, "/ivp/ensemble/power")
        plant = await fetch(http, "/__sim/plant")
    inv_entry = by_type(prod["production"], "inverters")
    eim = by_type(prod["production"], "production")
    total = by_type(prod["consumption"], "total-consumption")
    net = by_type(prod["consumption"], "net-consumption")
    assert inv_entry["activeCount"] == len(inverters) == 12
    assert v1["wattsNow"] == inv_entry["wNow"] == sum(i["lastReportWatts"] for i in inverters)
    assert v1["wattHoursLifetime"] == inv_entry["whLifetime"]
    assert v1["wattHoursToday"] == pytest.approx(eim["whToday"], abs=1)
    assert inv_entry["wNow"] > 2000 and eim["wNow"] > 2000  # noon
    assert eim["activeCount"] == total["activeCount"] == net["activeCount"] == 1
    assert total["wNow"] == pytest.approx(eim["wNow"] + net["wNow"], abs=0.01)
    pv_meter, net_meter, load_meter, storage_meter = readings
    assert pv_meter["activePower"] == eim["wNow"]
    assert pv_meter["actEnergyDlvd"] == eim["whLifetime"]
    assert net_meter["activePower"] == net["wNow"]
    # With a battery the load is not production + net: its own CT agrees with total.
    assert load_meter["activePower"] == total["wNow"]
    assert load_meter["actEnergyDlvd"] == total["whLifetime"]
    assert net_meter["actEnergyDlvd"] - net_meter["actEnergyRcvd"] == pytest.approx(
        net["whLifetime"], abs=0.01
    )
    assert sum(ch["activePower"] for ch in pv_meter["channels"]) == pytest.approx(
        pv_meter["activePower"], abs=0.01
    )
    assert 235 < pv_meter["voltage"] < 245 and pv_meter["freq"] == 60.0
    battery_w = sum(d["real_power_mw"] for d in power["devices:"]) / 1000
    assert net["wNow"] == pytest.approx(plant["load_w"] - eim["wNow"] - battery_w, abs=2)
    # The battery's own CT: its power as the batteries' (positive discharging), and what
    # they discharged and charged as its delivered and received energy.
    assert storage_meter["activePower"] == pytest.approx(battery_w, abs=0.01)
    assert storage_meter["actEnergyDlvd"] > 0  # the night before noon was on the battery


async def test_a_battery_site_without_a_storage_ct(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim, battery=True, storage_ct=False)
    async with http:
        meters = await fetch(http, "/ivp/meters")
        readings = await fetch(http, "/ivp/meters/readings")
    kinds = [m["measurementType"] for m in meters]
    assert kinds == ["production", "net-consumption", "total-consumption"]
    assert len(readings) == 3


async def test_production_json_details_adds_lines(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim)
    async with http:
        plain = await fetch(http, "/production.json")
        detailed = await fetch(http, "/production.json?details=1")
    assert "lines" not in plain["production"][1]
    lines = detailed["production"][1]["lines"]
    assert len(lines) == 2
    assert sum(line["wNow"] for line in lines) == pytest.approx(plain["production"][1]["wNow"])


async def test_plant_without_cts(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim, cts=False)
    async with http:
        prod = await fetch(http, "/production.json")
        meters = await fetch(http, "/ivp/meters")
    assert prod["production"][0]["type"] == "inverters"
    assert prod["production"][0]["wNow"] > 0
    assert [e["activeCount"] for e in prod["production"][1:]] == [0]
    assert all(e["activeCount"] == 0 for e in prod["consumption"])
    assert prod["storage"][0] == {
        "type": "acb",
        "activeCount": 0,
        "readingTime": 0,
        "wNow": 0,
        "whNow": 0,
        "state": "idle",
    }
    assert {m["state"] for m in meters} == {"disabled"}


async def test_plant_without_battery_has_an_empty_ensemble(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim)
    async with http:
        assert await fetch(http, "/ivp/ensemble/inventory") == []
        assert await fetch(http, "/ivp/ensemble/power") == {"devices:": []}
        for path in ("/ivp/ensemble/secctrl", "/ivp/ensemble/status", "/admin/lib/tariff"):
            assert (await http.get(path)).status_code == 404


async def test_battery_endpoints(make_sim: MakeSim) -> None:
    # 22:00: no sun, the batteries cover the evening load.
    _, http = await frozen(make_sim, battery=True, battery_units=3, start_time=MIDNIGHT + 79200)
    async with http:
        inventory = await fetch(http, "/ivp/ensemble/inventory")
        power = await fetch(http, "/ivp/ensemble/power")
        secctrl = await fetch(http, "/ivp/ensemble/secctrl")
        status = await fetch(http, "/ivp/ensemble/status")
        tariff = await fetch(http, "/admin/lib/tariff")
        prod = await fetch(http, "/production.json")
    (group,) = inventory
    assert group["type"] == "ENCHARGE"
    devices = group["devices"]
    assert len(devices) == 3
    assert all(d["communicating"] and d["admin_state_str"] == "ENCHG_STATE_READY" for d in devices)
    serials = [d["serial_num"] for d in devices]
    assert [d["serial_num"] for d in power["devices:"]] == serials
    assert all(d["real_power_mw"] > 0 for d in power["devices:"])  # discharging
    assert [d["soc"] for d in power["devices:"]] == [d["percentFull"] for d in devices]
    capacity = sum(d["encharge_capacity"] for d in devices)
    assert secctrl["Enc_max_available_capacity"] == capacity
    stored = sum(d["percentFull"] * d["encharge_capacity"] / 100 for d in devices)
    assert secctrl["ENC_agg_avail_energy"] == pytest.approx(stored, abs=3 * 50)
    assert secctrl["ENC_agg_soc"] == round(100 * secctrl["ENC_agg_avail_energy"] / capacity)
    assert secctrl["configured_backup_soc"] == 20
    assert set(status["inventory"]["serial_nums"]) == set(serials)
    assert status["relay"]["mains_admin_state"] == status["relay"]["mains_oper_state"] == "closed"
    settings = tariff["tariff"]["storage_settings"]
    assert settings["mode"] == "self-consumption" and settings["reserved_soc"] == 20
    assert settings["charge_from_grid"] is False
    net = by_type(prod["consumption"], "net-consumption")
    assert net["wNow"] == pytest.approx(0, abs=1)


async def test_info_xml(make_sim: MakeSim) -> None:
    sim = await make_sim(serial="122399999999", firmware="D8.3.5167")
    async with client(sim) as http:
        response = await http.get("/info.xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "envoy_info"
    assert root.findtext("device/sn") == "122399999999"
    assert root.findtext("device/software") == "D8.3.5167"
    assert root.findtext("device/imeter") == "true"
    assert root.findtext("web-tokens") == "true"


async def test_plant_overrides(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim)
    async with http:
        state = (await http.post("/__sim/plant", json={"sun": 0, "load_w": 2000})).json()
        assert state["solar_w"] == 0 and state["load_w"] == 2000
        net = by_type((await fetch(http, "/production.json"))["consumption"], "net-consumption")
        assert net["wNow"] == pytest.approx(2000, abs=0.01)
        serial = next(iter(state["inverters"]))
        state = (
            await http.post("/__sim/plant", json={"sun": None, "inverter_scale": {serial: 0.5}})
        ).json()
        assert state["overrides"] == {"sun": None, "load_w": 2000, "inverter_scale": {serial: 0.5}}
        watts = state["inverters"]
        others = [w for s, w in watts.items() if s != serial]
        assert watts[serial] < 0.7 * min(others)
        cleared = await http.post("/__sim/plant", json={"load_w": None, "inverter_scale": None})
        assert cleared.json()["overrides"] == {"sun": None, "load_w": None, "inverter_scale": {}}
        for bad in ({"sun": "bright"}, {"inverter_scale": {"nope": 1}}, {"wind": 3}):
            assert (await http.post("/__sim/plant", json=bad)).status_code == 400


async def test_inverter_list_follows_an_override_after_its_next_report(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=1200)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        await http.post("/__sim/plant", json={"sun": 0})
        before = await fetch(http, "/api/v1/production/inverters")
        assert any(i["lastReportWatts"] > 0 for i in before)  # reports lag the sun
        await asyncio.sleep(0.3)  # 360 simulated seconds: every inverter reported again
        after = await fetch(http, "/api/v1/production/inverters")
    assert all(i["lastReportWatts"] == 0 for i in after)
    assert all(i["maxReportWatts"] > 0 for i in after)


async def test_capture_mode_has_no_plant_to_override(make_sim: MakeSim, tmp_path: Any) -> None:
    (tmp_path / "info").write_text("<envoy_info><device><sn>1</sn></device></envoy_info>")
    sim = await make_sim(capture=tmp_path)
    async with client(sim) as http:
        assert (await http.post("/__sim/plant", json={"sun": 1})).status_code == 409


async def test_stream_meter_sends_events(make_sim: MakeSim) -> None:
    _, http = await frozen(make_sim)
    async with http, http.stream("GET", "/stream/meter") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                break
    assert set(event) == {"production", "net-consumption", "total-consumption"}
    assert event["production"]["ph-a"]["p"] > 0
    assert set(event["production"]["ph-a"]) == {"p", "q", "s", "v", "i", "pf", "f"}

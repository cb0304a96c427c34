"""Capture replay: exact bytes, sidecar codes, /info, 404s, and auth on top."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gem_envoy.sim.capture import UNKNOWN_SERIAL, file_name, serial_from_info

from .conftest import MakeSim
from .helpers import client

SPLIT = "8.2.127_with_3cts_and_battery_split"


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/info", "", "info"),
        ("/info.xml", "", "info"),
        ("/production.json", "", "production.json"),
        ("/production.json", "details=1", "production.json_details_1"),
        ("/api/v1/production/inverters", "", "api_v1_production_inverters"),
        ("/inventory.json", "deleted=1", "inventory.json_deleted_1"),
        ("/info_log.json", "", None),
        ("/", "", None),
        ("/..", "", None),
    ],
)
def test_file_names(path: str, query: str, name: str | None) -> None:
    assert file_name(path, query) == name


def test_serial_from_info() -> None:
    assert serial_from_info(b"<envoy_info><device><sn>1234</sn></device></envoy_info>") == "1234"
    assert serial_from_info(b"<envoy_info><device><sn>99</sn>") == "99"  # broken XML
    assert serial_from_info(b"<envoy_info></envoy_info>") == UNKNOWN_SERIAL


async def test_replay_serves_exact_bytes(make_sim: MakeSim, captures: Path) -> None:
    folder = captures / SPLIT
    sim = await make_sim(capture=folder)
    assert sim.serial == "123456789012"
    pairs = {
        "/production.json": "production.json",
        "/api/v1/production/inverters": "api_v1_production_inverters",
        "/ivp/ensemble/power": "ivp_ensemble_power",
    }
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for path, name in pairs.items():
            response = await http.get(path)
            assert response.status_code == 200, path
            assert response.content == (folder / name).read_bytes(), path
            assert response.headers["content-type"] == "application/json"


async def test_replay_paths_map_to_files(make_sim: MakeSim, captures: Path) -> None:
    folder = captures / SPLIT
    sim = await make_sim(capture=folder)
    pairs = {
        "/api/v1/production": "api_v1_production",
        "/ivp/ensemble/secctrl": "ivp_ensemble_secctrl",
        "/ivp/meters/readings": "ivp_meters_readings",
        "/admin/lib/tariff": "admin_lib_tariff",
    }
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for path, name in pairs.items():
            response = await http.get(path)
            assert response.content == (folder / name).read_bytes(), path


async def test_replay_honours_the_sidecar_code(make_sim: MakeSim, captures: Path) -> None:
    folder = captures / "7.3.130_no_consumption"
    sidecar = json.loads((folder / "ivp_ensemble_power_log.json").read_text())
    assert sidecar["code"] == 401
    sim = await make_sim(capture=folder)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        response = await http.get("/ivp/ensemble/power")
    assert response.status_code == 401
    assert response.content == (folder / "ivp_ensemble_power").read_bytes()
    assert response.headers["content-type"] == "text/html"


async def test_replay_query_string_file(make_sim: MakeSim, captures: Path) -> None:
    folder = captures / "8.2.4345_with_device_data"
    sim = await make_sim(capture=folder)
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        detailed = await http.get("/production.json?details=1")
        plain = await http.get("/production.json")
    assert detailed.content == (folder / "production.json_details_1").read_bytes()
    assert plain.content == (folder / "production.json").read_bytes()


async def test_replay_404s_absent_endpoints(make_sim: MakeSim, captures: Path) -> None:
    sim = await make_sim(capture=captures / "7.6.175_standard")
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for path in ("/ivp/meters", "/ivp/ensemble/secctrl", "/admin/lib/tariff", "/nope"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/ivp/ensemble/inventory")).status_code == 200


async def test_replay_applies_auth_and_scopes(make_sim: MakeSim, captures: Path) -> None:
    sim = await make_sim(capture=captures / SPLIT)
    async with client(sim) as http:
        assert (await http.get("/production.json")).status_code == 401
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        assert (await http.get("/production.json")).status_code == 200
        assert (await http.get("/api/v1/production/inverters")).status_code == 403
    async with client(sim, sim.mint_token("installer", 3600, aud="122300000001")) as http:
        assert (await http.get("/production.json")).status_code == 401


def _folders_with_info(captures: Path) -> list[Path]:
    return sorted(p for p in captures.iterdir() if (p / "info").is_file())


async def test_replay_info_for_every_folder(make_sim: MakeSim, captures: Path) -> None:
    folders = _folders_with_info(captures)
    assert len(folders) >= 20
    for folder in folders:
        body = (folder / "info").read_bytes()
        sim = await make_sim(capture=folder)
        match = re.search(rb"<sn>\s*([^<\s]+)\s*</sn>", body)
        assert sim.serial == (match.group(1).decode() if match else UNKNOWN_SERIAL)
        async with client(sim) as http:
            for path in ("/info", "/info.xml"):
                response = await http.get(path)
                assert response.status_code == 200, folder.name
                assert response.content == body, folder.name
        await sim.close()


async def test_replay_of_a_handmade_folder(make_sim: MakeSim, tmp_path: Path) -> None:
    (tmp_path / "api_v1_production").write_bytes(b'{"wattsNow": 7}')
    sidecar = {"headers": {"Content-Type": "text/plain"}, "code": 503}
    (tmp_path / "ivp_meters").write_bytes(b"busy")
    (tmp_path / "ivp_meters_log.json").write_text(json.dumps(sidecar))
    sim = await make_sim(capture=tmp_path)
    assert sim.serial == UNKNOWN_SERIAL
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        ok = await http.get("/api/v1/production")
        assert (ok.status_code, ok.content) == (200, b'{"wattsNow": 7}')
        busy = await http.get("/ivp/meters")
        assert (busy.status_code, busy.content) == (503, b"busy")
        assert busy.headers["content-type"] == "text/plain"
        assert (await http.get("/info")).status_code == 404
        assert (await http.get("/ivp/meters_log.json")).status_code == 404

"""`/admin/lib/tariff` on the simulated gateway, over real HTTPS: reads, writes, the refusals
of a malformed body, the schedule the gateway derives, replays of captures, the counters by
method, and the cloud that reverts local writes."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gem_envoy.sim import SimServer
from gem_envoy.sim.cli import add_arguments, fault_from_args
from gem_envoy.sim.faults import Fault
from gem_envoy.sim.tariff import rebuilt_schedule

from .conftest import MakeSim
from .helpers import client, get_stats

TARIFF = "/admin/lib/tariff"


async def read(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get(TARIFF)
    assert answer.status_code == 200, answer.text
    value: dict[str, Any] = answer.json()
    return value


def with_settings(document: dict[str, Any], **changes: object) -> dict[str, Any]:
    """The `{"tariff": ...}` body of `document` with storage settings changed."""
    tariff = json.loads(json.dumps(document["tariff"]))
    tariff["storage_settings"].update(changes)
    return {"tariff": tariff}


@pytest.fixture
async def battery_sim(make_sim: MakeSim) -> SimServer:
    return await make_sim(battery=True, speed=0)


async def test_a_write_is_stored_as_sent_and_the_schedule_follows(battery_sim: SimServer) -> None:
    async with client(battery_sim, battery_sim.mint_token("owner", 3600)) as http:
        before = await read(http)
        body = with_settings(before, mode="backup")
        body["tariff"]["a_field_of_tomorrow"] = {"kept": True}
        body["schedule"] = {"ignored": "the gateway builds its own"}
        written = await http.put(TARIFF, json=body)
        assert written.status_code == 200, written.text
        after = await read(http)
        stats = await get_stats(http)
    assert written.json() == after  # the answer looks like a GET
    assert after["tariff"] == body["tariff"]  # every field as sent, the unknown one too
    assert after["schedule"]["batt_mode"] == after["schedule"]["battery_mode"] == "backup"
    assert "ignored" not in after["schedule"]
    assert stats["by_method"]["PUT"] == {TARIFF: 1}
    assert stats["by_method"]["GET"][TARIFF] == 2
    assert stats["requests"][TARIFF] == 3
    plant = battery_sim.plant
    assert plant is not None and plant.storage.mode == "backup"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"storage_settings": {}}', '{"tariff": {...}}'),
        ({"mode": "turbo"}, "mode must be one of"),
        ({"reserved_soc": 150}, "reserved_soc must be a number from 0 to 100"),
        ({"reserved_soc": "20"}, "reserved_soc must be a number"),
        ({"reserved_soc": 5}, "must not be below very_low_soc (10)"),
        ({"charge_from_grid": "yes"}, "charge_from_grid must be true or false"),
        (None, "storage_settings is missing"),
    ],
)
async def test_a_malformed_write_is_refused_and_changes_nothing(
    battery_sim: SimServer, body: bytes | dict[str, object] | None, reason: str
) -> None:
    async with client(battery_sim, battery_sim.mint_token("installer", 3600)) as http:
        before = await read(http)
        if isinstance(body, dict):
            content = json.dumps(with_settings(before, **body)).encode()
        elif body is None:
            tariff = dict(before["tariff"])
            del tariff["storage_settings"]
            content = json.dumps({"tariff": tariff}).encode()
        else:
            content = body
        refused = await http.put(TARIFF, content=content)
        after = await read(http)
    assert refused.status_code == 400
    assert reason in refused.json()["error"]
    assert after == before


async def test_with_opt_schedules_true_the_mode_is_stored_and_not_scheduled() -> None:
    schedule = {"batt_mode": "self-consumption", "battery_mode": "self-consumption", "date": ""}
    tariff = {"storage_settings": {"mode": "backup", "opt_schedules": True}}
    rebuilt = rebuilt_schedule(schedule, tariff, 0)
    assert rebuilt is not None and rebuilt["batt_mode"] == "self-consumption"
    tariff["storage_settings"]["opt_schedules"] = False
    rebuilt = rebuilt_schedule(schedule, tariff, 0)
    assert rebuilt is not None and rebuilt["batt_mode"] == "backup"
    assert rebuilt["date"] == "1970-01-01 00:00:00 UTC"


async def test_no_battery_no_tariff_to_write(make_sim: MakeSim) -> None:
    sim = await make_sim()
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        assert (await http.put(TARIFF, json={"tariff": {}})).status_code == 404


async def test_an_expired_token_cannot_write(battery_sim: SimServer) -> None:
    async with client(battery_sim, battery_sim.mint_token("owner", -60)) as http:
        assert (await http.put(TARIFF, json={"tariff": {}})).status_code == 401


async def test_the_cloud_reverts_a_write_after_its_seconds(battery_sim: SimServer) -> None:
    await battery_sim.set_fault(Fault("cloud-revert", seconds=0.3))
    async with client(battery_sim, battery_sim.mint_token("owner", 3600)) as http:
        before = await read(http)
        assert (
            await http.put(TARIFF, json=with_settings(before, mode="backup"))
        ).status_code == 200
        assert (await read(http))["tariff"]["storage_settings"]["mode"] == "backup"
        await asyncio.sleep(0.6)
        after = await read(http)
    settings = after["tariff"]["storage_settings"]
    assert settings["mode"] == "self-consumption"
    assert settings["date"] != before["tariff"]["storage_settings"]["date"]  # the cloud's own
    assert after["schedule"]["batt_mode"] == "self-consumption"
    assert battery_sim.plant is not None and battery_sim.plant.storage.mode == "self-consumption"
    assert battery_sim.stats.faults_applied == 1


async def test_a_capture_replay_takes_a_write_in_memory(make_sim: MakeSim, captures: Path) -> None:
    folder = captures / "8.2.4382_ACB"
    recorded = (folder / "admin_lib_tariff").read_bytes()
    sim = await make_sim(capture=folder)
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        first = await http.get(TARIFF)
        assert first.content == recorded  # byte for byte until written
        document = first.json()
        body = with_settings(document, mode="backup", opt_schedules=False)
        assert (await http.put(TARIFF, json=body)).status_code == 200
        after = await read(http)
    assert after["tariff"] == body["tariff"]
    schedule = after["schedule"]
    assert schedule["batt_mode"] == schedule["battery_mode"] == "backup"
    assert schedule["opt_schedules"] is False
    assert schedule.keys() == document["schedule"].keys()  # this firmware's keys, rebuilt
    settings = body["tariff"]["storage_settings"]
    for key in ("reserved_soc", "very_low_soc", "charge_from_grid", "operation_mode_sub_type"):
        assert schedule[key] == settings[key], key
    assert schedule["override_tou_mode"] == document["schedule"]["override_tou_mode"]
    assert (folder / "admin_lib_tariff").read_bytes() == recorded  # the capture is untouched


async def test_a_capture_without_a_json_tariff_answers_a_write_as_it_answered_the_read(
    make_sim: MakeSim, captures: Path
) -> None:
    sim = await make_sim(capture=captures / "3.8.10")
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        read_answer = await http.get(TARIFF)
        write_answer = await http.put(TARIFF, json={"tariff": {}})
    assert write_answer.status_code == read_answer.status_code
    assert write_answer.content == read_answer.content


def test_the_command_line_sets_the_cloud_revert_with_its_seconds() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--fault", "cloud-revert", "--fault-seconds", "30"])
    assert fault_from_args(args) == Fault("cloud-revert", seconds=30)

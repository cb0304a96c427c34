"""Commands reach the running driver; attribute edits reach it without a restart; history,
health and the driver's command table."""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import FakeDriver, Host


async def wait_for_polls(host: Host, device_id: object, count: int = 1) -> None:
    driver = host.driver_of(device_id)
    async with asyncio.timeout(5):
        while True:
            driver.polled.clear()
            if driver.polls >= count:
                return
            await driver.polled.wait()


async def test_a_command_reaches_the_driver_and_returns_its_json(host: Host) -> None:
    device = await host.add_device("meter")
    zone = await host.admin.post("/api/data/zones", json={"device": device["id"], "name": "z"})
    zone_id = zone.json()["id"]
    for ref in ("meter", device["id"]):
        answer = await host.user.post(
            "/api/control/command",
            json={"device": ref, "action": "echo", "text": "hi", "n": [1, 2], "zone": zone_id},
        )
        assert answer.status_code == 200, answer.text
        expected = {"device": "meter", "args": {"text": "hi", "n": [1, 2]}, "zone": zone_id}
        assert answer.json() == expected


async def test_unknown_action_is_400_naming_the_drivers_commands(host: Host) -> None:
    await host.add_device("meter")
    answer = await host.user.post("/api/control/command", json={"device": "meter", "action": "x"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "unknown command 'x'; the commands are: echo, report, fail, leak, crash, switch"
    }


async def test_command_errors(host: Host) -> None:
    device = await host.add_device("meter", attributes={"token": "gateway-token-123"})
    await host.add_device("off", enabled=False)
    cases = [
        ({"device": "nope", "action": "echo"}, 404, "no device named 'nope'"),
        ({"device": 999, "action": "echo"}, 404, "no device with id 999"),
        ({"device": "off", "action": "echo"}, 400, "disabled"),
        ({"device": "meter", "action": "echo", "zone": 999}, 400, "zone 999"),
        # Device trouble: 502 with the first line of its cause, and the token masked.
        ({"device": device["id"], "action": "fail"}, 502, "401 from https://gw.local/auth?"),
        ({"device": "meter"}, 422, "action"),
        ({"device": 1.5, "action": "echo"}, 422, "device"),
    ]
    for body, status, text in cases:
        answer = await host.admin.post("/api/control/command", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert text in answer.json()["error"], (body, answer.text)
    answer = await host.admin.post(
        "/api/control/command", json={"device": "meter", "action": "fail"}
    )
    assert answer.json() == {"error": "401 from https://gw.local/auth?token=********"}


async def test_a_device_failure_is_502_and_one_log_line(
    host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    await host.add_device("meter")
    answer = await host.admin.post(
        "/api/control/command", json={"device": "meter", "action": "fail"}
    )
    assert answer.status_code == 502
    failures = [r for r in caplog.records if "command 'fail' failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is None  # the device's trouble: no traceback


async def test_a_driver_bug_is_500_with_its_traceback_in_the_log(
    host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    await host.add_device("meter")
    answer = await host.admin.post(
        "/api/control/command", json={"device": "meter", "action": "crash"}
    )
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error"}  # nothing of the bug's insides
    bugs = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(bugs) == 1
    assert "command 'crash' raised" in bugs[0].getMessage()
    assert "list index out of range" in caplog.text  # the traceback names the bug


async def test_a_writing_command_needs_the_admin_role_on_any_device(host: Host) -> None:
    device = await host.add_device("meter")  # not elevated: users may read it
    refused = await host.user.post(
        "/api/control/command", json={"device": "meter", "action": "switch", "on": True}
    )
    assert refused.status_code == 403
    assert "admin role" in refused.json()["error"]
    read = await host.user.post("/api/control/command", json={"device": "meter", "action": "echo"})
    assert read.status_code == 200
    allowed = await host.admin.post(
        "/api/control/command", json={"device": "meter", "action": "switch", "on": True}
    )
    assert allowed.json() == {"switched": True}
    assert host.driver_of(device["id"]).actions == ["echo", "switch"]  # the refused one: never


async def test_attribute_edits_reach_the_running_driver_without_a_restart(host: Host) -> None:
    device = await host.add_device("meter", attributes={"host": "old.local"})
    await wait_for_polls(host, device["id"])
    driver = host.driver_of(device["id"])
    answer = await host.admin.put(
        f"/api/attributes/device/{device['id']}", json={"host": "new.local", "token": "t-9876"}
    )
    assert answer.status_code == 200
    assert answer.json()["host"] == "new.local"
    assert answer.json()["token"] == "********"
    assert driver.config.attributes["host"] == "new.local"
    assert driver.config.attributes["token"] == "t-9876"  # the driver gets the plaintext
    answer = await host.admin.put(
        f"/api/data/devices/{device['id']}", json={"attributes": {"poll_interval_s": 0.05}}
    )
    assert answer.status_code == 200
    assert driver.config.attributes["poll_interval_s"] == 0.05
    assert (
        await host.admin.delete(f"/api/attributes/device/{device['id']}/host")
    ).status_code == 204
    assert "host" not in driver.config.attributes
    # Still the same driver object, reconfigured in place; and it keeps polling.
    assert [d for d in FakeDriver.instances if d.config.id == device["id"]] == [driver]
    polls = driver.polls
    await wait_for_polls(host, device["id"], polls + 2)


async def test_disabling_and_deleting_stop_the_driver(host: Host) -> None:
    device = await host.add_device("meter")
    url = f"/api/data/devices/{device['id']}"
    assert device["id"] in host.context.supervisor.runners
    await host.admin.put(url, json={"enabled": False})
    assert device["id"] not in host.context.supervisor.runners
    await host.admin.put(url, json={"enabled": True})
    assert device["id"] in host.context.supervisor.runners
    await host.admin.delete(url)
    assert device["id"] not in host.context.supervisor.runners


async def test_driver_commands_are_listed(host: Host) -> None:
    assert (await host.user.get("/api/drivers")).json() == ["fake"]
    rows = (await host.user.get("/api/drivers/fake/commands")).json()
    assert {"name": "echo", "args": ["text"], "notes": "answers with its arguments"} in rows
    assert [row["name"] for row in rows] == ["crash", "echo", "fail", "leak", "report", "switch"]


async def test_health_counts_online_devices(host: Host) -> None:
    first = await host.add_device("first")
    await host.add_device("off", enabled=False)
    await wait_for_polls(host, first["id"])
    assert (await host.anon.get("/api/health")).json() == {
        "status": "ok",
        "devices": 2,
        "online": 1,
    }


async def test_history_of_polled_values(host: Host) -> None:
    device = await host.add_device("meter", attributes={"poll_interval_s": 0.02})
    await wait_for_polls(host, device["id"], 4)
    url = f"/api/history/device/{device['id']}/polls"
    points = (await host.user.get(url)).json()["points"]
    assert len(points) >= 4
    assert [value for _, value in points[:4]] == [1.0, 2.0, 3.0, 4.0]
    assert all(time.time() - 60 < ts <= time.time() for ts, _ in points)
    future = (await host.user.get(url, params={"since": time.time() + 60})).json()
    assert future == {"points": []}
    first_ts = points[0][0]
    only_first = await host.user.get(url, params={"since": first_ts, "until": first_ts})
    assert only_first.json() == {"points": [[first_ts, 1.0]]}
    assert (await host.user.get(url, params={"since": "abc"})).status_code == 422
    assert (await host.user.get(url, params={"since": "nan"})).status_code == 422


async def test_arguments_by_name_in_an_args_object_or_gems_shape(host: Host) -> None:
    device = await host.add_device("meter")
    bodies: list[dict[str, object]] = [
        {"action": "echo", "mode": "backup"},
        {"action": "echo", "args": {"mode": "backup"}},
        {"action": "echo", "args": {"mode": "backup"}, "level": None},  # GEM's shape, no level
    ]
    for body in bodies:
        answer = await host.user.post("/api/control/command", json={"device": "meter", **body})
        assert answer.status_code == 200, answer.text
        assert answer.json()["args"] == {"mode": "backup"}
    gem = {"device": device["id"], "zone": None, "action": "echo", "level": 40}
    answer = await host.user.post("/api/control/command", json=gem)
    assert answer.json()["args"] == {"level": 40}
    twice = {"device": "meter", "action": "echo", "mode": "a", "args": {"mode": "b"}}
    answer = await host.user.post("/api/control/command", json=twice)
    assert answer.status_code == 422 and "mode" in answer.text

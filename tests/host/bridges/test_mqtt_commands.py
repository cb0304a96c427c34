"""Commands over MQTT at each `--mqtt-commands` level, against a real broker: a round trip
where the level allows it, a refusal (or silence, when off) where it does not."""

from __future__ import annotations

import json
from pathlib import Path

from gem_envoy.host.service import Host
from tests.eventually import eventually
from tests.fakes import FakeDriver
from tests.host.bridges.conftest import bridged, options_for
from tests.mqtt_broker import Broker, recording

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtcXR0LXRlc3QtdG9rZW4ifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def _actions(device_id: int) -> list[str]:
    """The commands that reached the device's drivers, in order."""
    return [action for driver in FakeDriver.of_device(device_id) for action in driver.actions]


async def test_each_level_runs_what_it_allows_and_refuses_the_rest(
    tmp_path: Path, broker: Broker
) -> None:
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    try:
        device = await host.devices.create("meter", "fake", attributes={"token": TOKEN})
        async with (
            bridged(host, options_for(broker, prefix="off")),
            bridged(host, options_for(broker, prefix="read", commands="read")),
            bridged(host, options_for(broker, prefix="all", commands="all")),
            recording(broker.port) as (seen, client),
        ):

            async def ask(prefix: str, request: dict[str, object]) -> dict[str, object]:
                topic = f"{prefix}/meter/command/result"
                before = len(seen.on(topic))
                await client.publish(f"{prefix}/meter/command", json.dumps(request), qos=1)
                await eventually(lambda: len(seen.on(topic)) > before, 10, f"answer on {topic}")
                answer = json.loads(seen.on(topic)[-1])
                assert isinstance(answer, dict)
                return answer

            echo = {"action": "echo", "text": "hi", "request_id": 7}
            assert await ask("read", echo) == {
                "request_id": 7,
                "action": "echo",
                "ok": True,
                "result": {"device": "meter", "args": {"text": "hi"}, "zone": None},
            }
            refused = await ask("read", {"action": "switch", "on": True})
            assert refused["ok"] is False and "--mqtt-commands all" in str(refused["error"])
            assert "switch" not in _actions(device.id)

            assert (await ask("all", {"action": "switch", "on": True}))["result"] == {
                "switched": True
            }
            assert _actions(device.id).count("switch") == 1

            # A careless driver's answer and a device's error never carry the token out.
            leaked = await ask("all", {"action": "leak"})
            failed = await ask("all", {"action": "fail"})
            assert TOKEN not in json.dumps(leaked) and "********" in json.dumps(leaked)
            assert failed["ok"] is False and TOKEN not in str(failed["error"])

            bad = [
                await ask("all", {"action": "nope"}),
                await ask("all", {"text": "no action"}),
                await ask("all", {"action": "echo", "zone": 99}),
            ]
            assert all(a["ok"] is False and a["error"] for a in bad), bad

            # Off: nobody listens, nothing runs, nothing answers.
            await client.publish("off/meter/command", json.dumps({"action": "echo"}), qos=1)
            await ask("all", {"action": "echo"})  # a round trip: the off one had its chance
            assert seen.on("off/meter/command/result") == []
            assert _actions(device.id).count("echo") == 2
    finally:
        await host.close()


async def test_a_retained_command_is_never_run(tmp_path: Path, broker: Broker) -> None:
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    try:
        device = await host.devices.create("meter", "fake")
        async with recording(broker.port, "all/meter/command/result") as (seen, client):
            request = json.dumps({"action": "switch", "on": True})
            await client.publish("all/meter/command", request, qos=1, retain=True)
            async with bridged(host, options_for(broker, prefix="all", commands="all")):
                await client.publish("all/meter/command", json.dumps({"action": "echo"}), qos=1)
                await eventually(lambda: seen.messages, 10, "the echo's answer")
            assert _actions(device.id) == ["echo"]
    finally:
        await host.close()


async def test_secrets_a_driver_reports_never_reach_the_broker(
    tmp_path: Path, broker: Broker
) -> None:
    """A renewed token (or any secure value) reported by a driver is in the host's event,
    in clear: the bridge must drop it, and mask it in whatever text quotes it."""
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    renewed = TOKEN.replace("c2ln", "bmV3")
    try:
        await host.devices.create("meter", "fake", attributes={"token": TOKEN})
        async with (
            recording(broker.port, "#") as (seen, client),
            bridged(host, options_for(broker, prefix="all", commands="all")),
        ):
            values = {"token": renewed, "db_password": "hunter2-hunter2", "note": f"got {renewed}"}
            report = {"action": "report", "values": values}
            await client.publish("all/meter/command", json.dumps(report), qos=1)
            await eventually(lambda: "all/meter/note" in seen.latest, 10, "the note")
            await eventually(lambda: len(seen.on("all/meter/state")) >= 2, 10, "a poll after")
        for message in seen.messages:
            if message.topic == "all/meter/command":
                continue  # the request this test sent
            for secret in (TOKEN, renewed, "hunter2-hunter2"):
                assert secret.encode() not in message.payload, message.topic
        assert not [m.topic for m in seen.messages if m.topic.endswith(("/token", "_password"))]
        assert seen.latest["all/meter/note"] == b"got ********"
    finally:
        await host.close()

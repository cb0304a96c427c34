"""Battery settings through the host's API, against a simulated gateway with Encharges over
real HTTPS: the battery follows the mode within two polls, a cloud revert is reported and not
fought, and what must not write (a plain user, a dry run, a bad value, a gateway without an
Encharge) sends no PUT."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host, bound_port, serving
from gem_envoy.host.types import AttributeValue
from gem_envoy.host.users import ADMIN, USER
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from gem_envoy.sim.faults import Fault
from tests.eventually import eventually

TARIFF = "/admin/lib/tariff"
POLL_S = 5.0  # the driver's floor
# 21:30 on the plant's clock: no sun, the evening load, after the tariff's peak.
EVENING = dt.datetime(2024, 6, 1, 21, 30, tzinfo=dt.UTC).timestamp()
PASSWORDS = {"admin": "admin-password-1", "alice": "alice-password-1"}


@dataclass
class Stack:
    host: Host
    url: str
    sim: SimServer
    device_id: int

    async def attributes(self) -> dict[str, AttributeValue]:
        stored = await self.host.store.get_attributes("device", self.device_id)
        return {name: a.value for name, a in stored.items()}

    def puts(self) -> int:
        return self.sim.stats.by_method.get("PUT", Counter())[TARIFF]

    async def command(self, user: str, **body: object) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as api:
            login = await api.post(
                "/api/token", json={"username": user, "password": PASSWORDS[user]}
            )
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            return await api.post(
                "/api/control/command", json={"device": self.device_id, **body}, headers=bearer
            )


async def started(tmp: Path, sim: SimServer) -> AsyncIterator[Stack]:
    host = await Host.open(tmp / "host" / "gem.db", DRIVERS)
    await host.store.add_user("admin", PASSWORDS["admin"], ADMIN)
    await host.store.add_user("alice", PASSWORDS["alice"], USER)
    try:
        async with serving(host, "127.0.0.1", 0) as server:
            attributes: dict[str, AttributeValue] = {
                "ip": sim.host,
                "port": sim.port,
                "token": sim.mint_token("installer", 3600),
                "polling_interval": int(POLL_S * 1000),
                "live": False,  # each poll is counted by its CT readings (every cycle)
            }
            device = await host.devices.create("envoy", "enphase_envoy", attributes=attributes)
            yield Stack(host, f"http://127.0.0.1:{bound_port(server)}", sim, device.id)
    finally:
        await host.close()
        await sim.close()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    # A frozen evening (speed 0): the batteries cover the home's load while allowed to.
    options = SimOptions(battery=True, inverters=4, speed=0, start_time=EVENING, utc_offset_s=0)
    async for value in started(tmp_path, await start_simulator(options)):
        yield value


async def until(stack: Stack, name: str, value: object, timeout_s: float = 15.0) -> float:
    """Seconds until the device attribute `name` holds `value`."""
    begun = time.monotonic()

    async def holds() -> bool:
        return (await stack.attributes()).get(name) == value

    await eventually(holds, timeout_s=timeout_s, what=f"{name} == {value!r}")
    return time.monotonic() - begun


async def test_backup_stops_the_discharge_within_two_polls_and_self_consumption_resumes_it(
    stack: Stack,
) -> None:
    await until(stack, "storage_mode", "self-consumption")
    await until(stack, "battery_state", "discharging")

    answer = await stack.command("admin", action="set_storage_mode", mode="backup")
    assert answer.status_code == 200, answer.text
    assert answer.json()["verified"] is True
    assert (await stack.attributes())["storage_mode"] == "backup"  # from the read-back
    stopped = await until(stack, "battery_state", "idle", timeout_s=2 * POLL_S + 2)
    assert stopped <= 2 * POLL_S + 1
    assert (await stack.attributes())["battery_now_w"] == 0

    answer = await stack.command("admin", action="set_storage_mode", mode="self-consumption")
    assert answer.status_code == 200, answer.text
    resumed = await until(stack, "battery_state", "discharging", timeout_s=2 * POLL_S + 2)
    assert resumed <= 2 * POLL_S + 1
    assert int((await stack.attributes())["battery_now_w"]) > 0
    assert stack.puts() == 2


async def test_a_cloud_revert_is_reported_within_90_s_and_not_fought(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await until(stack, "storage_mode", "self-consumption")
    await stack.sim.set_fault(Fault("cloud-revert", seconds=5))
    answer = await stack.command("admin", action="set_storage_mode", mode="backup")
    assert answer.status_code == 200, answer.text
    reverted_at = time.monotonic() + 5

    async def warned() -> bool:
        return "storage_warning" in await stack.attributes()

    await eventually(warned, timeout_s=90, what="storage_warning")
    assert time.monotonic() - reverted_at <= 90
    attributes = await stack.attributes()
    assert str(attributes["storage_warning"]).startswith(
        "storage mode was changed back to self-consumption by the gateway (cloud overwrite?)"
    )
    assert attributes["storage_mode"] == "self-consumption"
    polls = stack.sim.stats.path_requests["/ivp/meters/readings"]
    await eventually(lambda: stack.sim.stats.path_requests["/ivp/meters/readings"] > polls)
    assert stack.puts() == 1  # written once, never again
    assert caplog.text.count("changed back to self-consumption") == 1


async def test_what_must_not_write_sends_no_put(stack: Stack) -> None:
    await until(stack, "storage_mode", "self-consumption")
    await until(stack, "battery_reserve_soc_percent", 20.0)

    writes: tuple[tuple[str, dict[str, object]], ...] = (
        ("set_storage_mode", {"mode": "backup"}),
        ("set_reserve_soc", {"percent": 30}),
        ("get_storage_settings", {}),
    )
    for action, args in writes:
        refused = await stack.command("alice", action=action, **args)
        assert refused.status_code == 403, refused.text
        assert "needs the admin role" in refused.json()["error"]

    bad: tuple[tuple[dict[str, object], str], ...] = (
        ({"action": "set_storage_mode", "mode": "turbo"}, "mode must be self-consumption"),
        ({"action": "set_reserve_soc", "percent": 150}, "percent must be a number from 0 to 100"),
        ({"action": "set_reserve_soc", "percent": 5}, "very_low_soc = 10 %"),
        ({"action": "set_charge_from_grid", "enabled": "sometimes"}, "must be true or false"),
    )
    for body, reason in bad:
        refused = await stack.command("admin", **body)
        assert refused.status_code == 400, refused.text
        assert reason in refused.json()["error"]

    dry = await stack.command("admin", action="set_reserve_soc", percent=30, dry_run=True)
    assert dry.status_code == 200, dry.text
    body = dry.json()["body"]
    assert body["tariff"]["storage_settings"]["reserved_soc"] == 30.0
    assert dry.json()["changed"] == {"reserved_soc": {"from": 20.0, "to": 30.0}}

    assert stack.puts() == 0
    assert (await stack.attributes())["battery_reserve_soc_percent"] == 20.0


@pytest.fixture
async def no_battery(tmp_path: Path) -> AsyncIterator[Stack]:
    options = SimOptions(inverters=4, speed=0, start_time=EVENING, utc_offset_s=0)
    async for value in started(tmp_path, await start_simulator(options)):
        yield value


async def test_without_an_encharge_the_settings_are_absent_and_writes_refused(
    no_battery: Stack,
) -> None:
    await until(no_battery, "online", True)
    assert "storage_mode" not in await no_battery.attributes()
    refused = await no_battery.command("admin", action="set_storage_mode", mode="backup")
    assert refused.status_code == 400, refused.text
    assert "lists no Encharge battery" in refused.json()["error"]
    assert no_battery.sim.stats.requests.get(TARIFF, 0) == 0

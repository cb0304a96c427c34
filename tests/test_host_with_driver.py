"""The host running the enphase_envoy driver against `gem-envoy simulate`, over real sockets."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host, bound_port, serving
from gem_envoy.host.users import ADMIN
from tests.eventually import eventually
from tests.simulator import SimProcess, poll_json, simulator

TELEMETRY = (
    "production_now_w", "production_today_wh", "production_lifetime_wh", "consumption_now_w",
    "consumption_today_wh", "consumption_lifetime_wh", "net_power_w", "inverter_count",
    "last_report_time", "battery_now_w", "battery_soc_percent", "battery_capacity_wh",
    "battery_state",
)  # fmt: skip


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    # A frozen plant (speed 0): the host's values and a direct poll must agree exactly.
    with simulator(tmp_path, ["--battery", "--inverters", "6", "--speed", "0"]) as s:
        yield s


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[tuple[Host, str]]:
    host = await Host.open(tmp_path / "host" / "gem.db", DRIVERS)
    await host.store.add_user("admin", "admin-password", ADMIN)
    try:
        async with serving(host, "127.0.0.1", 0) as server:
            yield host, f"http://127.0.0.1:{bound_port(server)}"
    finally:
        await host.close()


async def sign_in(api: httpx.AsyncClient) -> dict[str, str]:
    """The admin's bearer header for the API."""
    login = await api.post("/api/token", json={"username": "admin", "password": "admin-password"})
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def attributes(host: Host, target: str, target_id: int) -> dict[str, object]:
    return {n: a.value for n, a in (await host.store.get_attributes(target, target_id)).items()}


def polled_serials(sim: SimProcess) -> list[str]:
    """The inverter serials a direct `gem-envoy poll --zones all` reports."""
    zones = poll_json(sim, "--zones", "all")["zones"]
    assert isinstance(zones, dict)
    return sorted(zones)


async def add_envoy(host: Host, sim: SimProcess, **extra: object) -> int:
    values = {"ip": sim.host, "port": sim.port, "token": sim.token_file.read_text(), **extra}
    device = await host.store.add_device("envoy", "enphase_envoy", attributes=values)  # type: ignore[arg-type]
    await host.supervisor.reload(device.id)
    return device.id


async def test_attributes_and_zones_match_a_direct_poll(
    host: tuple[Host, str], sim: SimProcess
) -> None:
    h, _ = host
    device_id = await add_envoy(h, sim)
    serials = polled_serials(sim)
    for number, serial in enumerate(serials):
        await h.store.add_zone(device_id, f"inv{number}", serial)
    await h.supervisor.reload(device_id)
    await eventually(lambda: _zones_written(h, len(serials)))

    direct = poll_json(sim, "--zones", "all")
    stored = await attributes(h, "device", device_id)
    for name in TELEMETRY:
        assert stored[name] == direct["device"][name], name  # type: ignore[index]
    assert stored["serial_number"] == direct["device"]["serial_number"]  # type: ignore[index]
    assert stored["online"] is True and stored["last_error"] == ""
    assert stored["token_type"] == "installer"
    assert abs(int(stored["last_poll_ms"]) / 1000 - time.time()) < 30  # type: ignore[call-overload]
    for zone in await h.store.list_zones(device_id):
        zone_attrs = await attributes(h, "zone", zone.id)
        assert zone_attrs == direct["zones"][zone.address]  # type: ignore[index]


async def _zones_written(h: Host, count: int) -> bool:
    zones = await h.store.list_zones()
    written = [z for z in zones if "last_w" in await attributes(h, "zone", z.id)]
    return len(written) == count


async def test_serial_number_is_filled_from_info(host: tuple[Host, str], sim: SimProcess) -> None:
    h, _ = host
    device_id = await add_envoy(h, sim)
    await eventually(lambda: _has(h, device_id, "serial_number"))
    assert (await attributes(h, "device", device_id))["serial_number"] == "122300000001"


async def _has(h: Host, device_id: int, name: str, value: object = None) -> bool:
    attrs = await attributes(h, "device", device_id)
    return name in attrs and (value is None or attrs[name] == value)


async def test_interval_below_the_floor_is_clamped_with_a_warning(
    host: tuple[Host, str], sim: SimProcess, caplog: pytest.LogCaptureFixture
) -> None:
    h, _ = host
    caplog.set_level(logging.WARNING)
    device_id = await add_envoy(h, sim, polling_interval=1000, live=False)  # polls counted
    await eventually(lambda: _has(h, device_id, "online", True))
    sim.reset_stats()
    await asyncio.sleep(6.5)
    polls = sim.requests_to("/ivp/meters/readings")  # every poll on a CT plant
    assert 1 <= polls <= 2  # one poll per 5 s floor, not six or seven at 1 s
    assert h.supervisor.runners[device_id].config.attributes["polling_interval"] == 1000
    assert "below the 5000 ms floor" in caplog.text


async def test_failed_poll_keeps_the_last_good_values(
    host: tuple[Host, str], sim: SimProcess
) -> None:
    h, _ = host
    device_id = await add_envoy(h, sim)
    await eventually(lambda: _has(h, device_id, "production_lifetime_wh"))
    good = await attributes(h, "device", device_id)

    sim.process.terminate()  # the gateway goes away
    sim.process.wait(timeout=10)
    await h.supervisor.reload(device_id)  # poll again now
    await eventually(lambda: _has(h, device_id, "online", False))

    after = await attributes(h, "device", device_id)
    assert "unreachable" in str(after["last_error"])
    for name in TELEMETRY:
        assert after[name] == good[name], name
    stored = await h.store.get_attributes("device", device_id)
    assert stored["production_lifetime_wh"].updated_at < stored["online"].updated_at


async def test_a_new_token_applies_without_restart(host: tuple[Host, str], sim: SimProcess) -> None:
    h, url = host
    expired = sim.mint("installer", lifetime_s=-60)
    device_id = await add_envoy(h, sim)
    await h.store.set_attributes("device", device_id, {"token": expired})
    await h.supervisor.reload(device_id)
    await eventually(lambda: _has(h, device_id, "online", False))
    assert "auth rejected (401)" in str((await attributes(h, "device", device_id))["last_error"])

    async with httpx.AsyncClient(base_url=url) as api:
        bearer = await sign_in(api)
        fresh = sim.token_file.read_text()
        reply = await api.put(
            f"/api/attributes/device/{device_id}", json={"token": fresh}, headers=bearer
        )
        assert reply.status_code < 300, reply.text
    await eventually(lambda: _has(h, device_id, "online", True))
    assert (await attributes(h, "device", device_id))["last_error"] == ""


async def test_command_through_the_api_refreshes_attributes(
    host: tuple[Host, str], sim: SimProcess
) -> None:
    h, url = host
    device_id = await add_envoy(h, sim)
    await eventually(lambda: _has(h, device_id, "online", True))
    async with httpx.AsyncClient(base_url=url) as api:
        bearer = await sign_in(api)
        reply = await api.post(
            "/api/control/command",
            json={"device": "envoy", "action": "get_status"},
            headers=bearer,
        )
        assert reply.status_code == 200, reply.text
        assert "production" in reply.json()
        inverters = await api.post(
            "/api/control/command", json={"device": device_id, "action": "get_inverters"},
            headers=bearer,
        )  # fmt: skip
        assert len(inverters.json()["serials"]) == 6
        refused = await api.post(
            "/api/control/command",
            json={"device": device_id, "action": "set_storage_mode", "mode": "turbo"},
            headers=bearer,
        )
        assert refused.status_code == 400
        assert "mode must be self-consumption, backup or economy" in refused.text


async def test_bad_device_attributes_through_the_api_are_refused_and_change_nothing(
    host: tuple[Host, str], sim: SimProcess
) -> None:
    h, url = host
    device_id = await add_envoy(h, sim)
    async with httpx.AsyncClient(base_url=url) as api:
        bearer = await sign_in(api)
        before = (await api.get(f"/api/attributes/device/{device_id}", headers=bearer)).json()
        refused = (
            {"polling_interval": -1},
            {"polling_interval": "abc"},
            {"token": "oops"},
            {"live": "sometimes"},
            {"live_interval": 0},
            {"time_zone": "Mars/Olympus"},
        )
        for bad in refused:
            reply = await api.put(f"/api/attributes/device/{device_id}", json=bad, headers=bearer)
            assert reply.status_code == 422, reply.text
            assert next(iter(bad)) in reply.json()["error"]
        created = await api.post(
            "/api/data/devices",
            json={"name": "second", "driver": "enphase_envoy", "attributes": {"port": 0}},
            headers=bearer,
        )
        assert created.status_code == 422
        after = (await api.get(f"/api/attributes/device/{device_id}", headers=bearer)).json()
        devices = (await api.get("/api/data/devices", headers=bearer)).json()
    assert {k: v for k, v in after.items() if k in ("polling_interval", "token", "ip", "port")} == {
        k: v for k, v in before.items() if k in ("polling_interval", "token", "ip", "port")
    }
    assert [d["name"] for d in devices] == ["envoy"]


async def test_zones_added_to_a_running_device_get_values_at_once(
    host: tuple[Host, str], sim: SimProcess
) -> None:
    h, _ = host
    device_id = await add_envoy(h, sim)
    await eventually(lambda: _has(h, device_id, "online", True))
    serials = polled_serials(sim)
    for count, serial in enumerate(serials[:3], start=1):
        await h.store.add_zone(device_id, f"roof-{count}", serial)
        await h.supervisor.reload(device_id)
        # Not five minutes (the inverter list's own pace): the list already read is reused.
        await eventually(functools.partial(_zones_written, h, count), timeout_s=5)


async def test_a_zone_for_a_serial_the_gateway_does_not_list_is_flagged(
    host: tuple[Host, str], sim: SimProcess
) -> None:
    h, _ = host
    device_id = await add_envoy(h, sim)
    serial = polled_serials(sim)[0]
    await h.devices.add_zone(device_id, "roof-1", serial)
    await eventually(lambda: _has(h, device_id, "inverter_serials"))
    # At add time, from the list the device last reported: a warning, the zone added anyway.
    assert await h.devices.zone_address_warning(device_id, serial) is None
    warning = await h.devices.zone_address_warning(device_id, "999999999999")
    assert warning == "inverter 999999999999 is not in the gateway's inverter list"
    zone = await h.devices.add_zone(device_id, "roof-x", "999999999999")

    async def flagged() -> bool:
        return (await attributes(h, "zone", zone.id)).get("last_error") == warning

    await eventually(flagged, timeout_s=5)  # at the next list: the one already read

"""Live power only while someone watches: a host with its API and the real driver, a
simulated gateway over HTTPS.

With nobody watching, the gateway sees no meter stream and no livedata reads, only the poll.
A client opening `/api/events` (as the page does) brings the live source within 2 s; when it
leaves, live goes on for the grace period, then the poll alone again. History has no gap
across the changes. `live_when: always` runs live with nobody watching; a bad value is
refused and nothing changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host, bound_port, serving
from gem_envoy.host.store import ValidationError
from gem_envoy.host.types import AttributeValue
from gem_envoy.host.users import ADMIN
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.device_events import published
from tests.eventually import eventually

POLL_S = 5.0  # the floor
GRACE_S = 2.0  # 60 s in service: shortened here
SWITCH_S = 2.5  # "within about 2 s" of a page opening, with the test's own polling
LIVE_PATHS = {"stream": "/stream/meter", "livedata": "/ivp/livedata/status"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Host, str]]:
    host = await Host.open(tmp_path / "host" / "gem.db", DRIVERS)
    host.supervisor.watchers.grace_s = GRACE_S
    await host.store.add_user("admin", "admin-password", ADMIN)
    try:
        async with serving(host, "127.0.0.1", 0) as server:
            yield host, f"http://127.0.0.1:{bound_port(server)}"
    finally:
        await host.close()


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = await start_simulator(SimOptions(clock_power=True, phases=3))
    try:
        yield server
    finally:
        await server.close()


async def add_envoy(host: Host, sim: SimServer, user: str, **extra: AttributeValue) -> int:
    values: dict[str, AttributeValue] = {
        "ip": sim.host,
        "port": sim.port,
        "token": sim.mint_token(user, 400 * 86_400),
        "polling_interval": int(POLL_S * 1000),
        **extra,
    }
    return (await host.devices.create("envoy", "enphase_envoy", attributes=values)).id


async def shown(host: Host, device_id: int) -> dict[str, AttributeValue]:
    return {n: a.value for n, a in (await host.store.get_attributes("device", device_id)).items()}


async def live_is(host: Host, device_id: int, state: str, source: str) -> bool:
    values = await shown(host, device_id)
    return (values.get("live_state"), values.get("live_source")) == (state, source)


def live_requests(sim: SimServer, source: str) -> int:
    return sim.stats.path_requests[LIVE_PATHS[source]]


@pytest.mark.parametrize(("user", "source"), [("installer", "stream"), ("owner", "livedata")])
async def test_live_runs_while_a_page_watches_and_the_poll_otherwise(
    sim: SimServer, served: tuple[Host, str], user: str, source: str
) -> None:
    host, url = served
    device_id = await add_envoy(host, sim, user)
    await eventually(lambda: live_is(host, device_id, "idle", "poll"), what="idle, polled")
    began = time.time()
    await asyncio.sleep(POLL_S + 1)  # a poll cycle more: still nothing live asked for
    assert live_requests(sim, source) == 0 and sim.stats.streams_open == 0
    assert "production_now_w" in await shown(host, device_id)

    async with httpx.AsyncClient(base_url=url) as api:
        login = await api.post(
            "/api/token", json={"username": "admin", "password": "admin-password"}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        async with api.stream("GET", "/api/events", headers=headers) as page:
            opened = time.monotonic()
            await eventually(lambda: live_is(host, device_id, "active", source), SWITCH_S)
            changes = await published(host.events, device_id, "production_now_w", 2.5)
            assert time.monotonic() - opened - 2.5 <= SWITCH_S
            assert len(changes) >= 1 if source == "livedata" else len(changes) >= 2
            assert page.status_code == 200

    await asyncio.sleep(GRACE_S / 2)
    assert await live_is(host, device_id, "active", source)  # a reload would find it live
    await eventually(lambda: live_is(host, device_id, "idle", "poll"), GRACE_S + 2)
    await asyncio.sleep(1.5)  # the stream's last second, a livedata read under way
    # On this CT plant the poll's power comes from the CTs' readings, every cycle again
    # once live stops (once a minute while it runs, for the energy counters).
    asked, polled = live_requests(sim, source), sim.stats.path_requests["/ivp/meters/readings"]
    await asyncio.sleep(2 * POLL_S)
    assert live_requests(sim, source) == asked and sim.stats.streams_open == 0
    assert sim.stats.path_requests["/ivp/meters/readings"] >= polled + 1  # the poll has it

    points = await host.store.history("device", device_id, "production_now_w", began, None)
    times = [ts for ts, _ in points]
    gaps = [b - a for a, b in zip([began, *times], [*times, time.time()], strict=True)]
    assert max(gaps) <= 2 * POLL_S + 1.5, f"history stood still for {max(gaps):.1f} s"


async def test_live_when_always_needs_no_watcher_and_a_bad_value_changes_nothing(
    sim: SimServer, served: tuple[Host, str]
) -> None:
    host, _ = served
    device_id = await add_envoy(host, sim, "installer", live_when="always")
    await eventually(lambda: live_is(host, device_id, "active", "stream"), what="always live")
    with pytest.raises(ValidationError, match="live_when must be watched or always"):
        await host.devices.set_attributes(
            "device", device_id, {"live_when": "weekdays", "polling_interval": 10_000}
        )
    values = await shown(host, device_id)
    assert (values["live_when"], values["polling_interval"]) == ("always", 5000)
    await host.devices.set_attributes("device", device_id, {"live_when": "watched"})
    await eventually(lambda: live_is(host, device_id, "idle", "poll"), what="idle once watched")

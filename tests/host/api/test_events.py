"""`GET /api/events`: attribute changes written through a driver's sink, as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx

from tests.eventually import eventually

from .conftest import Host


async def events(
    lines: AsyncIterator[str], wanted: int, seconds: float = 5
) -> list[dict[str, object]]:
    """The next `wanted` attribute events whose values include `power`, skipping the rest
    (the fake driver's own polls produce events all the time)."""
    found: list[dict[str, object]] = []
    event = None
    async with asyncio.timeout(seconds):
        async for line in lines:
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert event == "attributes"
                data = json.loads(line.removeprefix("data: "))
                if "power" in data["values"]:
                    found.append(data)
                    if len(found) == wanted:
                        return found
    return found


async def test_a_change_written_through_the_sink_is_streamed(host: Host) -> None:
    device = await host.add_device("meter")
    async with host.user.stream("GET", "/api/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        sink = host.driver_of(device["id"]).sink
        await sink.device_attributes({"power": 1234.5, "api_token": "not-for-you"})
        await sink.device_attributes({"password": "x" * 10})  # all secure: no event at all
        await sink.device_attributes({"power": 7})
        first, second = await events(lines, 2)
    assert first["target_type"] == "device"
    assert first["target_id"] == device["id"]
    assert first["values"] == {"power": 1234.5}
    assert isinstance(first["at"], float)
    assert second["values"] == {"power": 7}


async def test_the_token_may_come_as_a_query_parameter(host: Host) -> None:
    device = await host.add_device("meter")
    token = host.tokens["alice"]
    async with (
        httpx.AsyncClient(base_url=host.url) as browser,
        browser.stream("GET", "/api/events", params={"access_token": token}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        await host.driver_of(device["id"]).sink.device_attributes({"power": 3})
        assert (await events(lines, 1))[0]["values"] == {"power": 3}


async def test_the_query_token_is_only_for_the_event_stream(host: Host) -> None:
    token = host.tokens["root"]
    for url in ("/api/data/devices", "/api/users"):
        answer = await host.anon.get(url, params={"access_token": token})
        assert answer.status_code == 401
    for params in ({}, {"access_token": "wrong"}):
        answer = await host.anon.get("/api/events", params=params)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_keep_alive_comments_and_the_stream_ends_on_logout(host: Host) -> None:
    async with host.user.stream("GET", "/api/events") as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        async with asyncio.timeout(2):
            while (line := await anext(lines)) != ": keep-alive":
                assert not line.startswith("data:")  # no devices, so nothing else to say
        assert (await host.user.post("/api/logout")).status_code == 204
        async with asyncio.timeout(2):
            rest = [line async for line in lines]  # the server closes the stream
    assert all(not line or line.startswith(":") for line in rest)


async def test_a_query_token_never_reaches_the_access_log(host: Host) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    token = host.tokens["root"]
    try:
        assert (await host.anon.get(f"/api/users?access_token={token}")).status_code == 401
        async with host.anon.stream("GET", f"/api/events?x=1&access_token={token}") as stream:
            assert stream.status_code == 200
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    logged = "\n".join(record.getMessage() for record in records)
    assert "/api/events?x=1" in logged
    assert token not in logged


async def test_an_open_stream_watches_every_device_until_the_grace_ends(host: Host) -> None:
    device = await host.add_device("meter")
    driver = host.driver_of(device["id"])
    watchers = host.context.supervisor.watchers
    watchers.grace_s = 0.3
    assert driver.watched == [False]  # told when made: nobody looks
    async with host.user.stream("GET", "/api/events") as stream:
        assert await anext(stream.aiter_lines()) == ": connected"
        assert driver.watched == [False, True]
    await asyncio.sleep(0.1)
    assert driver.watched == [False, True]  # a page reloading within the grace: still watched
    await eventually(lambda: not driver.watched[-1], 5, "idle after the grace period")
    assert driver.watched == [False, True, False]


async def test_a_stream_for_one_device_gets_and_watches_only_it(host: Host) -> None:
    mine, other = await host.add_device("mine"), await host.add_device("other")
    zone = await host.store.add_zone(mine["id"], "roof")
    watchers = host.context.supervisor.watchers
    watchers.grace_s = 0.3
    url = f"/api/events?device={mine['id']}"
    async with host.user.stream("GET", url) as stream:
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        assert host.driver_of(mine["id"]).watched[-1] is True
        assert host.driver_of(other["id"]).watched[-1] is False  # nobody looks at it
        await host.driver_of(other["id"]).sink.device_attributes({"power": 1})
        await host.driver_of(mine["id"]).sink.zone_attributes(zone.id, {"power": 2})
        await host.driver_of(mine["id"]).sink.device_attributes({"power": 3})
        first, second = await events(lines, 2)
    assert (first["target_type"], first["target_id"], first["values"]) == (
        "zone",
        zone.id,
        {"power": 2},
    )
    assert (second["target_type"], second["target_id"]) == ("device", mine["id"])


async def test_a_stream_for_an_unknown_device_is_refused(host: Host) -> None:
    await host.add_device("meter")
    missing = await host.user.get("/api/events?device=999999")
    assert missing.status_code == 404
    assert "999999" in missing.json()["error"]
    garbled = await host.user.get("/api/events?device=meter")
    assert garbled.status_code == 422

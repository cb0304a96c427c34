"""Devices and zones: round trips, conflicts, unknown ids, and bad input that changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import Host


async def listing(host: Host) -> tuple[object, object, object]:
    devices = (await host.admin.get("/api/data/devices")).json()
    zones = (await host.admin.get("/api/data/zones")).json()
    attributes = [
        (await host.admin.get(f"/api/attributes/device/{d['id']}")).json() for d in devices
    ]
    for found in attributes:  # written by the running driver, not by these requests
        for name in ("polls", "online", "last_error", "last_poll_ms"):
            found.pop(name, None)
    return devices, zones, attributes


async def test_device_round_trip(host: Host) -> None:
    created = await host.add_device(
        "meter", label="Main meter", attributes={"host": "gw.local", "poll_interval_s": 5}
    )
    assert created == {
        "id": created["id"],
        "name": "meter",
        "label": "Main meter",
        "driver": "fake",
        "enabled": True,
        "elevated": False,
    }
    url = f"/api/data/devices/{created['id']}"
    assert (await host.user.get(url)).json() == created
    assert (await host.user.get("/api/data/devices")).json() == [created]
    attributes = (await host.user.get(f"/api/attributes/device/{created['id']}")).json()
    assert attributes["host"] == "gw.local"
    assert attributes["poll_interval_s"] == 5

    answer = await host.admin.put(url, json={"label": "Meter", "enabled": False})
    assert answer.status_code == 200
    assert answer.json() == {**created, "label": "Meter", "enabled": False}
    assert (await host.user.get(url)).json() == answer.json()

    assert (await host.admin.delete(url)).status_code == 204
    assert (await host.user.get(url)).status_code == 404
    assert (await host.user.get("/api/data/devices")).json() == []


async def test_zone_round_trip_and_device_filter(host: Host) -> None:
    first = await host.add_device("first")
    second = await host.add_device("second")
    answer = await host.admin.post(
        "/api/data/zones",
        json={"device": first["id"], "name": "inv-1", "address": "1234", "attributes": {"w": 1}},
    )
    assert answer.status_code == 201
    zone = answer.json()
    assert zone == {"id": zone["id"], "device": first["id"], "name": "inv-1", "address": "1234"}
    await host.admin.post("/api/data/zones", json={"device": second["id"], "name": "inv-1"})
    assert len((await host.user.get("/api/data/zones")).json()) == 2
    assert (await host.user.get(f"/api/data/zones?device={first['id']}")).json() == [zone]
    assert (await host.user.get("/api/data/zones?device=999")).status_code == 404
    assert (await host.user.get(f"/api/attributes/zone/{zone['id']}")).json() == {"w": 1}

    url = f"/api/data/zones/{zone['id']}"
    renamed = (await host.admin.put(url, json={"name": "inv-A"})).json()
    assert renamed == {**zone, "name": "inv-A"}
    assert (await host.user.get(url)).json() == renamed
    # The running driver was told about its zones.
    assert [z.name for z in host.driver_of(first["id"]).config.zones] == ["inv-A"]
    assert (await host.admin.delete(url)).status_code == 204
    assert (await host.user.get(url)).status_code == 404
    assert host.driver_of(first["id"]).config.zones == ()


async def test_duplicate_names_are_409_and_change_nothing(host: Host) -> None:
    device = await host.add_device("meter")
    other = await host.add_device("other")
    await host.admin.post("/api/data/zones", json={"device": device["id"], "name": "z"})
    before = await listing(host)
    answers = [
        await host.admin.post("/api/data/devices", json={"name": "meter", "driver": "fake"}),
        await host.admin.put(
            f"/api/data/devices/{other['id']}", json={"name": "meter", "attributes": {"a": 1}}
        ),
        await host.admin.post("/api/data/zones", json={"device": device["id"], "name": "z"}),
    ]
    for answer in answers:
        assert answer.status_code == 409
        assert "already" in answer.json()["error"]
    assert await listing(host) == before


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/data/devices/999"),
        ("put", "/api/data/devices/999"),
        ("delete", "/api/data/devices/999"),
        ("get", "/api/data/zones/999"),
        ("put", "/api/data/zones/999"),
        ("delete", "/api/data/zones/999"),
        ("get", "/api/attributes/device/999"),
        ("get", "/api/attributes/zone/999/details"),
        ("put", "/api/attributes/device/999"),
        ("delete", "/api/attributes/device/999/x"),
        ("get", "/api/history/device/999/polls"),
        ("get", "/api/drivers/nope/commands"),
    ],
)
async def test_unknown_ids_are_404(host: Host, method: str, url: str) -> None:
    answer = await host.admin.request(method, url, json={})
    assert answer.status_code == 404
    assert answer.json()["error"]


async def test_unknown_attribute_and_device_of_new_zone_are_404(host: Host) -> None:
    device = await host.add_device("meter")
    answer = await host.admin.delete(f"/api/attributes/device/{device['id']}/nothing")
    assert answer.status_code == 404
    answer = await host.admin.post("/api/data/zones", json={"device": 999, "name": "z"})
    assert answer.status_code == 404


async def test_attributes_the_store_accepts_are_fine(host: Host) -> None:
    # Only the driver can judge these values; the API stores what it is given.
    device = await host.add_device("meter", attributes={"polling_interval": -1, "mode": "abc"})
    values = (await host.admin.get(f"/api/attributes/device/{device['id']}")).json()
    assert values["polling_interval"] == -1
    assert values["mode"] == "abc"


# (body, a word the error must name); the first ones are refused by POST only, since an
# update may leave out any field and null means "keep".
CREATE_ONLY = [
    ({"driver": "fake"}, "name"),
    ({"name": "new", "driver": "fake", "label": None}, "label"),
]
BAD_DEVICE_BODIES = [
    ({"name": "new", "driver": "fake", "enabled": "maybe"}, "enabled"),
    ({"name": "new", "driver": "fake", "elevated": 1}, "elevated"),
    ({"name": 12, "driver": "fake"}, "name"),
    ({"name": "new", "driver": "fake", "colour": "red"}, "colour"),
    ({"name": "new", "driver": "fake", "attributes": {"a": [1]}}, "attributes"),
    ({"name": "new", "driver": "fake", "attributes": {"bad name": 1}}, "bad name"),
    ({"name": "new", "driver": "fake", "attributes": {"a": 2**64}}, "64 bits"),
    ({"name": " padded", "driver": "fake"}, "spaces"),
    ({"name": "123", "driver": "fake"}, "digits"),
    ([{"name": "new", "driver": "fake"}], "body"),
]


@pytest.mark.parametrize(
    ("body", "hint", "methods"),
    [(b, h, ("post",)) for b, h in CREATE_ONLY]
    + [(b, h, ("post", "put")) for b, h in BAD_DEVICE_BODIES],
)
async def test_bad_device_bodies_are_422_and_change_nothing(
    host: Host, body: object, hint: str, methods: tuple[str, ...]
) -> None:
    device = await host.add_device("meter", attributes={"a": 1})
    before = await listing(host)
    urls = {"post": "/api/data/devices", "put": f"/api/data/devices/{device['id']}"}
    for method in methods:
        answer = await host.admin.request(method, urls[method], json=body)
        assert answer.status_code == 422, (method, body, answer.text)
        assert hint in answer.json()["error"], answer.text
    assert await listing(host) == before


async def test_a_failed_attribute_write_undoes_the_device_change(host: Host) -> None:
    device = await host.add_device("meter")
    before = await listing(host)
    answer = await host.admin.put(
        f"/api/data/devices/{device['id']}",
        json={"name": "renamed", "label": "L", "attributes": {"bad name": 1}},
    )
    assert answer.status_code == 422
    assert await listing(host) == before


async def test_not_json_is_422(host: Host) -> None:
    before = await listing(host)
    answer = await host.admin.post(
        "/api/data/devices",
        content=b'{"name": "x", "driver": ',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert "JSON" in answer.json()["error"]
    assert await listing(host) == before


async def test_bodies_over_1_mib_are_413_before_parsing(host: Host) -> None:
    await host.add_device("meter")
    before = await listing(host)
    big = json.dumps(
        {"name": "huge", "driver": "fake", "attributes": {"a": "x" * 60_000}, "pad": "y" * 2**21}
    ).encode()
    answer = await host.admin.post(
        "/api/data/devices", content=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "larger than" in answer.json()["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams in
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    async with httpx.AsyncClient(base_url=host.url, headers=host.admin.headers) as client:
        answer = await client.post(
            "/api/data/devices", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413
    assert await listing(host) == before
    # A body just under the limit is read and judged normally.
    small = {"name": "fits", "driver": "fake", "label": "", "attributes": {"a": "x" * 60_000}}
    assert (await host.admin.post("/api/data/devices", json=small)).status_code == 201

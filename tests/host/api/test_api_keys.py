"""API keys as bearer tokens: what each role may read, and revocation at once."""

from __future__ import annotations

import httpx

from gem_envoy.host.api_keys import METRICS, key_digest, new_key
from gem_envoy.host.users import USER
from tests.host.api.conftest import Host


async def make_key(host: Host, name: str, role: str) -> str:
    key = new_key()
    await host.store.add_api_key(name, key_digest(key), role)
    return key


async def test_a_metrics_key_reads_metrics_and_nothing_else(host: Host) -> None:
    key = await make_key(host, "prometheus", METRICS)
    async with host.client(key) as scraper:
        assert (await scraper.get("/metrics")).status_code == 200
        refused = await scraper.get("/api/data/devices")
        assert refused.status_code == 403
        assert refused.json() == {"error": "a metrics key may read /metrics only"}
        assert (await scraper.get("/api/events")).status_code == 403
        assert (await scraper.get("/api/session")).status_code == 403


async def test_a_user_key_reads_what_a_user_reads(host: Host) -> None:
    await host.add_device("meter")
    key = await make_key(host, "grafana", USER)
    async with host.client(key) as reader:
        devices = await reader.get("/api/data/devices")
        assert devices.status_code == 200
        assert [d["name"] for d in devices.json()] == ["meter"]
        assert (await reader.get("/metrics")).status_code == 200
        # Writes need the admin role, which no key has.
        created = await reader.post("/api/data/devices", json={"name": "x", "driver": "fake"})
        assert created.status_code == 403
        assert (await reader.get("/api/session")).json() == {
            "username": "key:grafana", "role": "user", "expires": None,
        }  # fmt: skip


async def test_metrics_need_a_key_or_the_admin_role(host: Host) -> None:
    anonymous = await host.anon.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    async with host.client("gemk_not-a-key") as stranger:
        assert (await stranger.get("/metrics")).status_code == 401
    assert (await host.user.get("/metrics")).status_code == 403  # a person's sign-in
    assert (await host.admin.get("/metrics")).status_code == 200


async def test_a_revoked_key_is_refused_at_once(host: Host) -> None:
    key = await make_key(host, "prometheus", METRICS)
    async with host.client(key) as scraper:
        assert (await scraper.get("/metrics")).status_code == 200
        await host.store.delete_api_key("prometheus")  # as `gem-envoy apikey revoke` does
        assert (await scraper.get("/metrics")).status_code == 401


async def test_logging_out_with_a_key_revokes_it(host: Host) -> None:
    key = await make_key(host, "leaked", USER)
    async with host.client(key) as holder:
        assert (await holder.post("/api/logout")).status_code == 204
        assert (await holder.get("/api/data/devices")).status_code == 401
    assert await host.store.list_api_keys() == []


async def test_the_event_stream_of_a_revoked_key_ends(host: Host) -> None:
    key = await make_key(host, "dashboard", USER)
    async with (
        httpx.AsyncClient(base_url=host.url, timeout=10) as client,
        client.stream("GET", "/api/events", params={"access_token": key}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        await host.store.delete_api_key("dashboard")
        rest = [line async for line in lines]  # ends at the next keep-alive check
        assert all(line in ("", ": keep-alive") for line in rest)

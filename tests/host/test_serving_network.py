"""How the served API faces the network, over TCP as `gem-envoy run` serves it: the Host
names it answers to (against DNS rebinding), and whose X-Forwarded-For it believes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from gem_envoy.host.api.allowed_hosts import AllowedHosts
from gem_envoy.host.service import Host, ServeOptions, bound_port, serving
from gem_envoy.host.users import ADMIN

PASSWORD = "owner-password-1"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Host]:
    host = await Host.open(tmp_path / "gem.db", {}, polling=False)
    try:
        await host.store.add_user("owner", PASSWORD, ADMIN)
        yield host
    finally:
        await host.close()


@asynccontextmanager
async def served(
    host: Host, options: ServeOptions | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    async with serving(host, "127.0.0.1", 0, options or ServeOptions()) as server:
        port = bound_port(server)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client, port


async def test_only_known_host_names_are_answered(service: Host) -> None:
    async with served(service, ServeOptions(allowed_hosts=("gem.lan",))) as (client, port):
        for name in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "GEM.lan"):
            answer = await client.get("/api/health", headers={"Host": name})
            assert answer.status_code == 200, name
        for name in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "gem"):
            answer = await client.get("/api/health", headers={"Host": name})
            assert answer.status_code == 400, name
            error = answer.json()["error"]
            assert "--allowed-host" in error
            assert "evil" not in error
        # A DNS-rebinding page would be after the sign-in: it gets nothing either.
        login = {"username": "owner", "password": PASSWORD}
        answer = await client.post("/api/token", json=login, headers={"Host": "evil.example"})
        assert answer.status_code == 400
        answer = await client.post("/api/token", json=login)
        assert answer.status_code == 200


async def test_the_trailing_slash_redirect_never_names_a_foreign_host(service: Host) -> None:
    async with served(service) as (client, port):
        foreign = await client.get("/api/health/", headers={"Host": "evil.example"})
        assert foreign.status_code == 400
        assert "location" not in foreign.headers
        assert "evil" not in foreign.text
        own = await client.get("/api/health/", headers={"Host": f"localhost:{port}"})
        assert own.status_code == 307
        assert own.headers["location"] == f"http://localhost:{port}/api/health"


async def test_a_request_without_a_usable_host_header_is_refused(service: Host) -> None:
    async with served(service) as (client, _):
        for bad in ("", "a b", "x:notaport"):
            answer = await client.get("/api/health", headers={"Host": bad})
            assert answer.status_code == 400, bad
            assert answer.json() == {"error": "the request needs one valid Host header"}


def test_the_names_follow_the_listen_address() -> None:
    assert AllowedHosts("127.0.0.1").names == {"127.0.0.1", "::1", "localhost"}
    assert AllowedHosts("::1").names == {"127.0.0.1", "::1", "localhost"}
    lan = AllowedHosts("192.168.1.20", ["Gem.Lan", "[fd00::2]"])
    assert lan.names == {"192.168.1.20", "gem.lan", "fd00::2", "localhost"}
    assert not lan.allows("127.0.0.1") and not lan.allows("192.168.1.21")
    # On every interface the machine's addresses are not known: any address, names listed.
    everywhere = AllowedHosts("0.0.0.0", ["gem.lan"])
    assert everywhere.allows("192.168.1.20") and everywhere.allows("fe80::1")
    assert everywhere.allows("gem.lan") and not everywhere.allows("evil.example")
    with pytest.raises(ValueError, match="not a host name"):
        AllowedHosts("127.0.0.1", ["http://gem.lan/"])


async def failing_sign_ins(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for _ in range(3):  # enough that this name from this address must now wait
        await client.post(
            "/api/token", json={"username": "owner", "password": "wrong"}, headers=headers
        )


async def test_x_forwarded_for_is_ignored_unless_the_proxy_is_named(service: Host) -> None:
    async with served(service) as (client, _):
        # A client claiming to be many addresses is still the one it connects from.
        for fake in ("10.0.0.1", "10.0.0.2"):
            await failing_sign_ins(client, {"X-Forwarded-For": fake})
        answer = await client.post(
            "/api/token",
            json={"username": "owner", "password": PASSWORD},
            headers={"X-Forwarded-For": "10.0.0.3"},
        )
        assert answer.status_code == 429


async def test_x_forwarded_for_names_the_client_behind_a_named_proxy(service: Host) -> None:
    async with served(service, ServeOptions(forwarded_allow_ips="127.0.0.1")) as (client, _):
        await failing_sign_ins(client, {"X-Forwarded-For": "10.0.0.1"})
        login = {"username": "owner", "password": PASSWORD}
        behind = await client.post(
            "/api/token", json=login, headers={"X-Forwarded-For": "10.0.0.1"}
        )
        assert behind.status_code == 429  # the guessing client, as the proxy names it
        other = await client.post("/api/token", json=login, headers={"X-Forwarded-For": "10.0.0.2"})
        assert other.status_code == 200  # another client behind the same proxy

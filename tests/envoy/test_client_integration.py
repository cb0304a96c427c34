"""The gateway client against `gem-envoy simulate` over real HTTPS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller, Schedule
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import (
    AuthRejected,
    BadResponse,
    GatewayTimeout,
    NotFound,
    NotPermitted,
    Unreachable,
)
from tests.simulator import SimProcess, simulator


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    with simulator(tmp_path_factory.mktemp("sim"), ["--battery", "--latency-ms", "20"]) as s:
        yield s


def client_for(sim: SimProcess, token: str | None = None, timeout_s: float = 5.0) -> EnvoyClient:
    token = token or sim.token_file.read_text()
    return EnvoyClient.connect_to(sim.host, token, port=sim.port, timeout_s=timeout_s)


async def test_many_cycles_use_one_connection_and_one_token_check(sim: SimProcess) -> None:
    sim.reset_stats()
    client = client_for(sim)
    poller = GatewayPoller(client, all_zones=True, schedule=Schedule(inverters_every_s=0))
    try:
        await poller.connect()
        for _ in range(15):
            result = await poller.cycle()
            assert result.device["production_lifetime_wh"]
    finally:
        await client.close()
    stats = sim.stats()
    assert stats["tls_handshakes"] == 1
    assert stats["check_jwt"] == 1
    assert stats["requests"]["/production.json"] == 15  # type: ignore[index]
    assert stats["requests"]["/ivp/ensemble/power"] == 15  # type: ignore[index]
    # The battery totals are read once a minute, not every cycle.
    assert stats["requests"]["/ivp/ensemble/secctrl"] == 1  # type: ignore[index]


async def test_no_endpoint_is_read_twice_in_a_cycle(sim: SimProcess) -> None:
    client = client_for(sim)
    poller = GatewayPoller(client, all_zones=True)
    try:
        await poller.connect()
        sim.reset_stats()
        await poller.cycle()
    finally:
        await client.close()
    requests = sim.stats()["requests"]
    assert isinstance(requests, dict)
    assert requests and all(count == 1 for count in requests.values()), requests


async def test_never_two_requests_in_flight_even_when_callers_overlap(sim: SimProcess) -> None:
    client = client_for(sim)
    poller = GatewayPoller(client, all_zones=True, schedule=Schedule(inverters_every_s=0))
    try:
        await poller.connect()
        sim.reset_stats()
        await asyncio.gather(
            poller.cycle(),
            poller.cycle(),
            client.fetch("/api/v1/production"),
            client.fetch("/ivp/meters/readings"),
        )
    finally:
        await client.close()
    stats = sim.stats()
    assert stats["requests_total"] >= 8  # type: ignore[operator]
    assert stats["max_in_flight"] == 1


async def test_expired_token_is_auth_rejected(sim: SimProcess) -> None:
    client = client_for(sim, sim.mint("installer", lifetime_s=-60))
    try:
        with pytest.raises(AuthRejected, match=r"auth rejected \(401\).*mint a fresh"):
            await client.production()
    finally:
        await client.close()


async def test_token_for_another_gateway_is_auth_rejected(sim: SimProcess) -> None:
    client = client_for(sim, sim.mint("installer", aud="999999999999"))
    try:
        with pytest.raises(AuthRejected):
            await client.production()
    finally:
        await client.close()


async def test_owner_token_is_not_permitted_on_installer_endpoints(sim: SimProcess) -> None:
    client = client_for(sim, sim.owner_token_file.read_text())
    try:
        assert (await client.production()).production  # owner scope is enough here
        with pytest.raises(NotPermitted, match=r"auth rejected \(403\)"):
            await client.inverters()
    finally:
        await client.close()


async def test_missing_endpoint_is_not_found(sim: SimProcess) -> None:
    client = client_for(sim)
    try:
        with pytest.raises(NotFound, match=r"404"):
            await client.fetch("/ivp/no/such/endpoint")
    finally:
        await client.close()


async def test_slow_gateway_gives_a_timeout(tmp_path: Path) -> None:
    with simulator(tmp_path, ["--latency-ms", "2000"]) as slow:
        client = client_for(slow, timeout_s=0.3)
        try:
            with pytest.raises(GatewayTimeout, match=r"timeout.*300 ms"):
                await client.production()
        finally:
            await client.close()


async def test_oversized_body_is_a_bad_response(tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    info = "<envoy_info><device><sn>123456789012</sn><software>D8.2.4382</software></device>"
    (capture / "info").write_text(info + "<web-tokens>true</web-tokens></envoy_info>")
    (capture / "production.json").write_bytes(b'{"production": [' + b" " * (5 << 20) + b"]}")
    with simulator(tmp_path, ["--capture", str(capture)]) as big:
        client = client_for(big)
        try:
            with pytest.raises(BadResponse, match=r"larger than 4 MiB"):
                await client.production()
        finally:
            await client.close()


async def test_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = EnvoyClient.connect_to("127.0.0.1", "x.y.z", port=port, timeout_s=2)
    try:
        with pytest.raises(Unreachable, match=r"connection refused"):
            await client.fetch_info()
    finally:
        await client.close()


async def test_a_new_token_opens_a_new_session(sim: SimProcess) -> None:
    client = client_for(sim, sim.owner_token_file.read_text())
    try:
        with pytest.raises(NotPermitted):
            await client.inverters()
        client.set_token(sim.token_file.read_text())
        assert await client.inverters()
    finally:
        await client.close()


async def test_without_ct_today_is_read_at_the_inverters_pace(tmp_path: Path) -> None:
    with simulator(tmp_path, ["--no-cts"]) as plain:
        client = client_for(plain)
        poller = GatewayPoller(client)
        try:
            await poller.connect()
            results = [await poller.cycle() for _ in range(10)]
        finally:
            await client.close()
        requests = plain.stats()["requests"]
    assert all("production_today_wh" in r.device for r in results)
    assert requests["/production.json"] == 10  # type: ignore[index]
    assert requests["/api/v1/production"] == 1  # type: ignore[index]

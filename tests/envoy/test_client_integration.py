"""The gateway client against `gem-envoy simulate` over real HTTPS on 127.0.0.1: what only
sockets show. Authentication, statuses and the poller's pace are tested from memory
(test_client.py, tests/drivers/test_poller.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller, Schedule
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import BadResponse, GatewayTimeout, Unreachable
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
    assert stats["check_jwt"] == 1  # the session cookie came through and was sent back
    # With or without `?details=1` (the poller asks for per-phase lines on a multi-phase site).
    assert stats["paths"]["/production.json"]["requests"] == 15


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
    assert stats["requests_total"] >= 8
    assert stats["max_in_flight"] == 1


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

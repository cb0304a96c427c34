"""The counters at /__sim/stats: requests, handshakes, bytes, concurrency."""

from __future__ import annotations

import asyncio
import ssl
import time

import httpx

from gem_envoy.sim import SimServer

from .conftest import MakeSim
from .helpers import client, get_stats

PATHS = ["/production.json", "/api/v1/production", "/ivp/meters/readings", "/info"]


async def test_keep_alive_many_requests_one_handshake(sim: SimServer) -> None:
    sizes = 0
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for _ in range(5):
            for path in PATHS:
                response = await http.get(path)
                assert response.status_code == 200
                assert response.headers["connection"] == "keep-alive"
                assert response.headers["server"] == "openresty/1.17.8.1"
                sizes += len(response.content)
        stats = await get_stats(http)
    assert stats["tls_handshakes"] == 1
    assert stats["requests"] == {path: 5 for path in PATHS}
    assert stats["requests_total"] == 20
    assert stats["bytes_sent"] == sizes
    assert stats["max_in_flight"] == 1
    assert stats["connections_open"] == 1
    assert stats["check_jwt"] == 0


async def test_query_strings_are_counted_apart(sim: SimServer) -> None:
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        await http.get("/production.json")
        await http.get("/production.json?details=1")
        stats = await get_stats(http)
    assert stats["requests"] == {"/production.json": 1, "/production.json?details=1": 1}


async def test_each_new_connection_is_a_handshake(sim: SimServer) -> None:
    for _ in range(3):
        async with client(sim) as http:
            assert (await http.get("/info")).status_code == 200
    async with client(sim) as http:
        stats = await get_stats(http)
    assert stats["tls_handshakes"] == 4  # three clients, plus this one asking
    assert stats["requests_total"] == 3


async def test_reset_zeroes_the_counters(sim: SimServer) -> None:
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        await http.get("/auth/check_jwt")
        await http.get("/api/v1/production")
        reset = await http.post("/__sim/stats/reset")
        assert reset.status_code == 200
        stats = await get_stats(http)
    assert stats["requests"] == {}
    assert stats["requests_total"] == 0
    assert stats["tls_handshakes"] == 0
    assert stats["check_jwt"] == 0
    assert stats["bytes_sent"] == 0
    assert stats["max_in_flight"] == 0
    assert stats["connections_open"] == 1


async def _timed_get(http: httpx.AsyncClient, path: str) -> float:
    start = time.perf_counter()
    assert (await http.get(path)).status_code == 200
    return time.perf_counter() - start


async def test_overlapping_connections_are_handled_in_parallel(make_sim: MakeSim) -> None:
    sim = await make_sim(latency_ms=300)
    token = sim.mint_token("installer", 3600)
    async with client(sim, token) as first, client(sim, token) as second:
        await asyncio.gather(get_stats(first), get_stats(second))  # connect (undelayed)
        start = time.perf_counter()
        await asyncio.gather(_timed_get(first, "/info"), _timed_get(second, "/api/v1/production"))
        elapsed = time.perf_counter() - start
        stats = await get_stats(first)
    assert stats["max_in_flight"] == 2
    assert stats["connections_open"] == 2
    assert elapsed < 0.55  # not one after the other


async def test_sequential_requests_never_overlap(make_sim: MakeSim) -> None:
    sim = await make_sim(latency_ms=50)
    async with client(sim) as http:
        for _ in range(4):
            assert await _timed_get(http, "/info") >= 0.05
        stats = await get_stats(http)
    assert stats["max_in_flight"] == 1


async def test_sim_routes_are_not_delayed_or_counted(make_sim: MakeSim) -> None:
    sim = await make_sim(latency_ms=400)
    async with client(sim) as http:
        start = time.perf_counter()
        for _ in range(3):
            await get_stats(http)
        assert time.perf_counter() - start < 0.4
        stats = await get_stats(http)
    assert stats["requests_total"] == 0
    assert stats["max_in_flight"] == 0
    assert stats["bytes_sent"] == 0


async def test_connection_close_and_server_close(sim: SimServer) -> None:
    async with client(sim) as http:
        response = await http.get("/info", headers={"Connection": "close"})
        assert response.status_code == 200
        assert response.headers["connection"] == "close"
    async with client(sim) as http:
        await http.get("/info")
        await sim.close()
        await asyncio.sleep(0.05)
        assert sim.stats.connections_open == 0


async def test_head_sends_headers_only(sim: SimServer) -> None:
    async with client(sim) as http:
        body = (await http.get("/info")).content
        response = await http.head("/info")
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["content-length"] == str(len(body))
        stats = await get_stats(http)
    assert stats["bytes_sent"] == len(body)
    assert stats["requests"] == {"/info": 2}


async def _raw_exchange(sim: SimServer, payload: bytes) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port, ssl=context)
    writer.write(payload)
    await writer.drain()
    received = b""
    while received.count(b"</envoy_info>") < 2 and b"400" not in received[:20]:
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        if not chunk:
            break
        received += chunk
    writer.close()
    return received


async def test_pipelined_requests_are_answered_in_order(sim: SimServer) -> None:
    request = b"GET /info HTTP/1.1\r\nHost: envoy.local\r\n\r\n"
    received = await _raw_exchange(sim, request * 2)
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert sim.stats.requests["/info"] == 2
    assert sim.stats.tls_handshakes == 1


async def test_garbage_gets_400(sim: SimServer) -> None:
    received = await _raw_exchange(sim, b"NOT HTTP AT ALL\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 400 ")

"""Fault injection: each kind seen from a real client over 127.0.0.1, and the fault API."""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import os
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gem_envoy.sim import SimOptions, SimServer, cli
from gem_envoy.sim.faults import Fault, FaultError

from ..eventually import eventually
from ..simulator import simulator
from .conftest import MakeSim
from .helpers import NOON, client, get_stats


async def set_fault(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    reply = await http.post("/__sim/fault", json=body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def installer(sim: SimServer) -> httpx.AsyncClient:
    return client(sim, sim.mint_token("installer", 3600))


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def raw_handshake(port: int) -> None:
    """A TLS handshake on a fresh socket (raises what the handshake raises)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        _insecure().wrap_socket(sock) as tls,
    ):
        assert tls.version() is not None


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# -- the API ------------------------------------------------------------------------------


async def test_get_post_delete(sim: SimServer) -> None:
    async with installer(sim) as http:
        assert (await http.get("/__sim/fault")).json() is None
        shown = await set_fault(http, kind="slow", path="/info", fraction=0.5, duration_s=60)
        assert shown["kind"] == "slow" and shown["path"] == "/info"
        assert (shown["fraction"], shown["duration_s"], shown["seed"]) == (0.5, 60, 0)
        assert shown["bytes_per_s"] == 4.0 and "hours" not in shown
        assert 0 < shown["remaining_s"] <= 60
        assert (await http.get("/__sim/fault")).json()["kind"] == "slow"
        await set_fault(http, kind="500")  # replaces
        assert (await http.get("/__sim/fault")).json()["kind"] == "500"
        assert (await http.get("/api/v1/production")).status_code == 500
        reply = await http.delete("/__sim/fault")
        assert reply.status_code == 200 and reply.json() is None
        assert (await http.get("/api/v1/production")).status_code == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"kind": "teapot"}, "kind must be one of"),
        ({}, "kind must be one of"),
        ({"kind": "500", "fraction": 1.5}, "fraction"),
        ({"kind": "500", "fraction": "half"}, "fraction must be a number"),
        ({"kind": "500", "path": "/__sim/stats"}, "never apply"),
        ({"kind": "500", "path": "info"}, "start with /"),
        ({"kind": "500", "duration_s": 0}, "duration_s must be positive"),
        ({"kind": "500", "colour": "red"}, "colour"),
        ({"kind": "slow", "hours": 2}, "not a parameter of slow: hours"),
        ({"kind": "slow", "bytes_per_s": 0}, "bytes_per_s must be positive"),
        ({"kind": "refused"}, "needs a duration_s"),
        ({"kind": "tls"}, "needs a duration_s"),
        ({"kind": "reboot", "duration_s": 5}, "takes no duration_s"),
        ({"kind": "reboot", "seconds": 1, "path": "/info"}, "takes no path"),
        ({"kind": "refused", "duration_s": 1, "fraction": 0.5}, "takes no fraction"),
        ({"kind": "500", "seed": 1.5}, "seed must be an integer"),
    ],
)
async def test_bad_faults_are_refused_with_a_reason(
    sim: SimServer, body: dict[str, Any], reason: str
) -> None:
    async with client(sim) as http:
        reply = await http.post("/__sim/fault", json=body)
        assert reply.status_code == 400
        assert reason in reply.json()["error"]
        assert (await http.get("/__sim/fault")).json() is None


async def test_a_fault_clears_itself_after_its_duration(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="502", duration_s=0.3)
        assert (await http.get("/info")).status_code == 502
        await asyncio.sleep(0.4)
        assert (await http.get("/__sim/fault")).json() is None
        assert (await http.get("/info")).status_code == 200


async def test_path_filter_matches_the_path_without_its_query(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="500", path="/production.json")
        assert (await http.get("/production.json?details=1")).status_code == 500
        assert (await http.get("/api/v1/production")).status_code == 200
        assert (await http.get("/__sim/stats")).status_code == 200


async def test_a_fraction_hits_about_that_share_and_counts(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="500", fraction=0.5, seed=3)
        codes = [(await http.get("/info")).status_code for _ in range(200)]
        stats = await get_stats(http)
    hits = codes.count(500)
    assert 70 <= hits <= 130 and codes.count(200) == 200 - hits
    assert stats["faults_applied"] == hits
    assert stats["requests"] == {"/info": 200}


# -- per-request kinds ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["401", "403", "404", "500", "502"])
async def test_status_faults_answer_that_status(sim: SimServer, kind: str) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind=kind)
        reply = await http.get("/production.json")
        assert reply.status_code == int(kind)
        assert kind in reply.text and reply.headers["content-type"] == "text/html"
        stats = await get_stats(http)  # control is never hit
    assert stats["faults_applied"] == 1 and stats["requests"] == {"/production.json": 1}


async def test_html_is_an_error_page_with_status_200(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="html")
        reply = await http.get("/production.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html"
    assert "<h1>Internal Server Error</h1>" in reply.text


async def test_timeout_never_answers_and_lets_go_when_the_client_does(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="timeout")
        async with client(sim, timeout=0.5) as victim:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await victim.get("/info")
            assert time.monotonic() - started >= 0.5
        # The client hung up: the simulator closes its side instead of holding on for minutes.
        await eventually(lambda: sim.stats.connections_open == 1)


async def test_slow_sends_the_headers_at_once_then_drips_the_body(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="slow", bytes_per_s=40)
        started = time.monotonic()
        async with http.stream("GET", "/production.json") as reply:
            assert reply.status_code == 200
            assert time.monotonic() - started < 0.5
            length = int(reply.headers["content-length"])
            received = 0
            async for chunk in reply.aiter_raw():
                received += len(chunk)
                if time.monotonic() - started >= 1.5:
                    break
        elapsed = time.monotonic() - started
    assert length > 1000
    assert 20 <= received <= 40 * elapsed + 10


async def test_slow_stops_dripping_when_the_client_hangs_up(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="slow")  # 4 bytes a second: minutes for production.json
        victim = client(sim, sim.mint_token("owner", 60))
        async with victim, victim.stream("GET", "/production.json") as reply:
            assert reply.status_code == 200
        await eventually(lambda: sim.stats.in_flight == 0 and sim.stats.connections_open == 1)


async def test_slow_drips_a_whole_small_body(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="slow", bytes_per_s=400)
        started = time.monotonic()
        reply = await http.get("/info")
    assert reply.status_code == 200 and b"<sn>" in reply.content
    # 100 bytes a tick: all but the first tick's bytes take their time.
    assert time.monotonic() - started >= (len(reply.content) - 100) / 400 * 0.9


async def test_reset_drops_the_connection_in_the_middle_of_the_body(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="reset", path="/production.json")
        async with http.stream("GET", "/production.json") as reply:
            assert reply.status_code == 200
            with pytest.raises(httpx.ReadError):
                await reply.aread()
        assert (await http.get("/info")).status_code == 200


def read_until_reset(port: int, request: bytes) -> int:
    """Send ``request`` over TLS, then read the raw TCP stream until the peer resets it (the
    TLS layer would report a reset as a mere EOF); returns the number of bytes read."""
    received = 0
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        _insecure().wrap_socket(sock) as tls,
    ):
        tls.sendall(request)
        with socket.socket(fileno=os.dup(tls.fileno())) as raw, pytest.raises(ConnectionResetError):
            raw.settimeout(5)
            while chunk := raw.recv(65536):
                received += len(chunk)
    return received


async def test_reset_is_a_tcp_reset(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="reset", path="/info")
    request = b"GET /info HTTP/1.1\r\nHost: sim\r\n\r\n"
    assert await asyncio.to_thread(read_until_reset, sim.port, request) > 0


async def test_truncated_promises_the_whole_body_and_sends_half(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="truncated", path="/production.json")
        received = b""
        async with http.stream("GET", "/production.json") as reply:
            assert reply.status_code == 200
            length = int(reply.headers["content-length"])
            with pytest.raises(httpx.RemoteProtocolError):
                async for chunk in reply.aiter_raw():
                    received += chunk
    assert len(received) == length // 2 > 0
    assert received.startswith(b"{")


async def test_huge_never_ends(sim: SimServer) -> None:
    cap = 5 << 20
    async with installer(sim) as http:
        await set_fault(http, kind="huge")
        received = 0
        async with http.stream("GET", "/production.json") as reply:
            assert reply.status_code == 200 and "content-length" not in reply.headers
            async for chunk in reply.aiter_raw():
                received += len(chunk)
                if received > cap:
                    break
    assert received > cap
    await eventually(lambda: sim.stats.in_flight == 0)


async def test_skew_shifts_the_gateway_clock(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=0)  # a frozen plant: any change in time is the skew
    async with installer(sim) as http:
        before = (await http.get("/production.json")).json()
        inverters = (await http.get("/api/v1/production/inverters")).json()
        await set_fault(http, kind="skew", hours=3)
        reply = await http.get("/production.json")
        after = reply.json()
        skewed_inverters = (await http.get("/api/v1/production/inverters")).json()
        info = (await http.get("/info")).text
    shift = 3 * 3600
    eim_before, eim_after = before["production"][1], after["production"][1]
    assert eim_after["readingTime"] == eim_before["readingTime"] + shift
    assert after["production"][0]["readingTime"] == before["production"][0]["readingTime"] + shift
    assert after["storage"][0]["readingTime"] == 0  # "never" stays never
    assert eim_after["whLifetime"] == eim_before["whLifetime"]
    assert skewed_inverters[0]["lastReportDate"] == inverters[0]["lastReportDate"] + shift
    assert f"<time>{int(NOON) + shift}</time>" in info
    date = email.utils.parsedate_to_datetime(reply.headers["date"]).timestamp()
    assert abs(date - (time.time() + shift)) < 5


# -- kinds that act on the port -------------------------------------------------------------


async def test_tls_breaks_handshakes_then_recovers(sim: SimServer) -> None:
    async with installer(sim) as http:
        await set_fault(http, kind="tls", duration_s=1)
        with pytest.raises(ssl.SSLError):
            await asyncio.to_thread(raw_handshake, sim.port)
        async with client(sim) as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get("/info")
        await asyncio.sleep(1.1)
        await asyncio.to_thread(raw_handshake, sim.port)
        # The kept-alive connection was never touched by it.
        assert (await get_stats(http))["faults_applied"] == 2


async def test_refused_closes_the_port_then_listens_on_the_same_one(sim: SimServer) -> None:
    port = sim.port
    async with installer(sim) as http:
        await set_fault(http, kind="refused", duration_s=1)
        assert await asyncio.to_thread(refuses, port)
        with pytest.raises(httpx.TransportError):
            await http.get("/info")  # the kept-alive connection went with the port
        await asyncio.sleep(1.1)
        assert (await http.get("/info")).status_code == 200
        assert sim.port == port
        assert (await http.get("/__sim/fault")).json() is None
        assert (await get_stats(http))["faults_applied"] == 1


async def _lifetimes(http: httpx.AsyncClient) -> tuple[float, float, float]:
    production = (await http.get("/production.json")).json()
    v1 = (await http.get("/api/v1/production")).json()
    eim = production["production"][1]
    return eim["whLifetime"], production["production"][0]["whLifetime"], v1["wattHoursLifetime"]


async def test_reboot_forgets_sessions_and_lowers_lifetimes(sim: SimServer) -> None:
    token = sim.mint_token("owner", 3600)
    async with client(sim, token) as http:
        check = await http.get("/auth/check_jwt")
        cookie = {"Cookie": f"sessionId={check.cookies['sessionId']}"}
        before = await _lifetimes(http)
        today_before = (await http.get("/api/v1/production")).json()["wattHoursToday"]
        shown = await set_fault(http, kind="reboot", seconds=1)
        assert shown["seconds"] == 1
        assert await asyncio.to_thread(refuses, sim.port)
        await asyncio.sleep(1.1)
        after = await _lifetimes(http)
        today_after = (await http.get("/api/v1/production")).json()["wattHoursToday"]
    for old, new in zip(before, after, strict=True):
        assert old * 0.94 < new < old
    assert today_after < today_before
    async with client(sim) as bare:
        assert (await bare.get("/production.json", headers=cookie)).status_code == 401
        new_check = await bare.get("/auth/check_jwt", headers={"Authorization": f"Bearer {token}"})
        assert new_check.status_code == 200
        fresh = {"Cookie": f"sessionId={new_check.cookies['sessionId']}"}
        assert (await bare.get("/production.json", headers=fresh)).status_code == 200


async def test_reboot_of_a_capture_forgets_its_sessions(make_sim: MakeSim, captures: Any) -> None:
    folder = next(path for path in sorted(captures.iterdir()) if (path / "info").is_file())
    sim = await make_sim(capture=folder)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        assert (await http.get("/auth/check_jwt")).status_code == 200
        assert len(sim.auth.sessions) == 1
        await sim.set_fault(Fault("reboot", seconds=0.2))
        await asyncio.sleep(0.3)
        assert len(sim.auth.sessions) == 0
        assert (await http.get("/info")).status_code == 200


# -- Python API and command line ------------------------------------------------------------


async def test_a_fault_in_the_options_is_set_at_start(make_sim: MakeSim) -> None:
    sim = await make_sim(fault=Fault("404", path="/info"))
    async with installer(sim) as http:
        assert (await http.get("/info")).status_code == 404
        assert (await http.get("/info.xml")).status_code == 200


async def test_closing_during_an_outage_does_not_listen_again(make_sim: MakeSim) -> None:
    sim = await make_sim(fault=Fault("refused", duration_s=0.2))
    port = sim.port
    await sim.close()
    await asyncio.sleep(0.3)
    assert await asyncio.to_thread(refuses, port)


def test_gem_envoy_simulate_takes_a_fault_and_the_api_changes_it(tmp_path: Path) -> None:
    with simulator(tmp_path, ["--fault", "404", "--fault-path", "/info"]) as sim:
        auth = {"Authorization": f"Bearer {sim.token_file.read_text()}"}
        with httpx.Client(base_url=sim.url, verify=False, headers=auth, timeout=10) as http:
            assert http.get("/info").status_code == 404
            assert http.get("/api/v1/production").status_code == 200
            assert http.post("/__sim/fault", json={"kind": "502"}).status_code == 200
            assert http.get("/api/v1/production").status_code == 502
            assert http.delete("/__sim/fault").json() is None
            assert http.get("/info").status_code == 200
        assert sim.stats()["faults_applied"] == 2


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_fault_options() -> None:
    args = _parse(
        *("--fault", "500", "--fault-path", "/info", "--fault-fraction", "0.25"),
        *("--fault-duration", "30", "--fault-seed", "9"),
    )
    assert cli.options_from_args(args).fault == Fault(
        "500", path="/info", fraction=0.25, duration_s=30, seed=9
    )
    assert cli.options_from_args(_parse("--fault", "skew", "--fault-hours", "-2")).fault == Fault(
        "skew", hours=-2
    )
    assert cli.options_from_args(_parse()).fault is None


@pytest.mark.parametrize(
    "argv",
    [
        ("--fault", "slow", "--fault-hours", "2"),
        (
            "--fault-path",
            "/info",
        ),
        (
            "--fault",
            "refused",
        ),
        ("--fault", "500", "--fault-fraction", "2"),
    ],
)
def test_cli_refuses_faults_that_cannot_be_set(argv: tuple[str, ...]) -> None:
    with pytest.raises(FaultError if argv[0] == "--fault" else ValueError):
        cli.options_from_args(_parse(*argv))
    assert cli.run(_parse("--port", "0", *argv)) == 2


def test_cli_rejects_an_unknown_kind() -> None:
    with pytest.raises(SystemExit):
        _parse("--fault", "teapot")


def test_the_options_dataclass_takes_a_fault() -> None:
    assert SimOptions(fault=Fault("html")).fault == Fault("html")

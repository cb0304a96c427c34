"""`EnvoyClient.meter_stream` over real TLS sockets on 127.0.0.1: against the simulator (its
events, its stream faults, its counts of open streams), and against a tiny gateway of the
test's own that sends exactly the bytes a test chooses."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from gem_envoy.envoy.certificate import CertificateChanged
from gem_envoy.envoy.certificate_pin import CertificatePin
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import (
    AuthRejected,
    BadResponse,
    GatewayTimeout,
    NotFound,
    NotPermitted,
    StreamStalled,
    Unreachable,
)
from gem_envoy.envoy.models import LivePower
from gem_envoy.envoy.stream import MeterStream
from gem_envoy.envoy.transport import HttpsTransport
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from gem_envoy.sim.auth import TokenIssuer
from gem_envoy.sim.certs import make_server_context
from gem_envoy.sim.faults import Fault
from tests.captures import capture_transport
from tests.eventually import eventually

INTERVAL_S = 0.05  # the simulator's time between two events


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = await start_simulator(
        SimOptions(inverters=2, battery=True, phases=3, stream_interval_s=INTERVAL_S)
    )
    try:
        yield server
    finally:
        await server.close()


def client_for(server: SimServer, user: str = "installer") -> EnvoyClient:
    token = server.mint_token(user, 3600)
    return EnvoyClient.connect_to(server.host, token, port=server.port, timeout_s=5.0)


async def take(stream: MeterStream, count: int) -> list[LivePower]:
    powers = []
    async for power in stream:
        powers.append(power)
        if len(powers) == count:
            break
    return powers


# ---------------------------------------------------------------------------------------------
# Against the simulator


async def test_events_from_the_simulator(sim: SimServer) -> None:
    client = client_for(sim)
    try:
        async with client.meter_stream() as stream:
            powers = await take(stream, 3)
            assert sim.stats.streams_open == 1
    finally:
        await client.close()
    for power in powers:
        assert power.production_w is not None and power.consumption_w is not None
        assert power.grid_w is not None
        assert power.battery_w is None and power.soc_percent is None
        assert len(power.production_phases_w) == 3
        assert power.production_w == pytest.approx(sum(power.production_phases_w), abs=0.01)
        assert len(power.grid_phases_w) == len(power.consumption_phases_w) == 3
    assert stream.garbage_events == 0
    assert not stream.is_open
    await eventually(lambda: sim.stats.streams_open == 0, 5, "the simulator saw the stream end")


async def test_the_stream_sends_the_session_not_a_second_token_check(sim: SimServer) -> None:
    client = client_for(sim)
    try:
        await client.production()
        async with client.meter_stream() as stream:
            await take(stream, 1)
    finally:
        await client.close()
    assert sim.stats.check_jwt == 1
    assert sim.stats.requests["/stream/meter"] == 1


async def test_events_cut_into_pieces_and_garbage_among_them(sim: SimServer) -> None:
    client = client_for(sim)
    await sim.set_fault(Fault(kind="stream-split"))
    try:
        async with client.meter_stream() as stream:
            assert len(await take(stream, 3)) == 3
        await sim.set_fault(Fault(kind="stream-garbage"))
        async with client.meter_stream() as stream:
            await take(stream, 25)
            assert stream.garbage_events > 0  # skipped, the stream went on
    finally:
        await client.close()


async def test_a_stall_is_stream_stalled_within_the_idle_timeout(sim: SimServer) -> None:
    client = client_for(sim)
    try:
        async with client.meter_stream(idle_timeout_s=0.5) as stream:
            await take(stream, 1)
            await sim.set_fault(Fault(kind="stream-stall"))
            started = time.monotonic()
            with pytest.raises(StreamStalled, match=r"meter stream sent nothing for 0\.5 s"):
                await take(stream, 100)
            assert time.monotonic() - started < 0.5 + 1.0
            assert not stream.is_open  # the hung connection is dropped at once
    finally:
        await client.close()
    await eventually(lambda: sim.stats.streams_open == 0, 5, "the stalled stream was dropped")


async def test_a_dropped_connection_is_unreachable(sim: SimServer) -> None:
    client = client_for(sim)
    await sim.set_fault(Fault(kind="stream-disconnect"))
    try:
        async with client.meter_stream() as stream:
            powers: list[LivePower] = []
            with pytest.raises(Unreachable, match=r"lost during /stream/meter"):
                async for power in stream:
                    powers.append(power)
            assert len(powers) == 3  # the fault sends three events, then half of one
            assert stream.garbage_events == 0  # the half event was never delivered
    finally:
        await client.close()


async def test_an_owner_token_is_auth_rejected_after_one_fresh_session(sim: SimServer) -> None:
    client = client_for(sim, user="owner")
    try:
        with pytest.raises(AuthRejected, match=r"\(401\) on /stream/meter"):
            async with client.meter_stream():
                pass
    finally:
        await client.close()
    assert sim.stats.requests["/stream/meter"] == 2
    assert sim.stats.check_jwt == 2
    await eventually(lambda: sim.stats.connections_open == 0, 5, "every connection closed")


async def test_cancelling_the_reader_closes_the_connection(sim: SimServer) -> None:
    client = client_for(sim)
    got_one = asyncio.Event()

    async def read() -> None:
        async with client.meter_stream() as stream:
            async for _ in stream:
                got_one.set()

    task = asyncio.create_task(read())
    try:
        await asyncio.wait_for(got_one.wait(), 5)
        assert sim.stats.streams_open == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: sim.stats.streams_open == 0, 5, "the stream's connection closed")
    finally:
        await client.close()


async def test_never_two_streams_at_once(sim: SimServer) -> None:
    client = client_for(sim)
    try:
        first = client.meter_stream()
        await first.open()
        await take(first, 1)
        second = client.meter_stream()
        await second.open()  # closes the first before it connects
        assert not first.is_open and second.is_open
        assert await take(first, 1) == []  # a closed stream ends
        assert len(await take(second, 1)) == 1
        await eventually(lambda: sim.stats.streams_open == 1, 5, "the first stream closed")
        await client.close()  # closes the open stream too
        assert not second.is_open
    finally:
        await client.close()
    await eventually(lambda: sim.stats.streams_open == 0, 5, "no stream left open")


async def test_livedata_status_and_enable_over_https(sim: SimServer) -> None:
    client = client_for(sim)
    try:
        await client.enable_livedata()
        status = await client.livedata_status()
    finally:
        await client.close()
    assert status.stream_enabled
    assert status.power.battery_w is not None and status.power.soc_percent is not None
    assert len(status.power.production_phases_w) == 3
    assert sim.stats.by_method["POST"]["/ivp/livedata/stream"] == 1


# ---------------------------------------------------------------------------------------------
# Against a gateway that sends what the test says

Script = Callable[[asyncio.StreamWriter], Awaitable[None]]
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)
GOOD = (
    b'data: {"production":{"ph-a":{"p":100.5,"v":230},"ph-b":{"p":0,"v":0},'
    b'"ph-c":{"p":0,"v":0}},"net-consumption":{"ph-a":{"p":-20,"v":230}}}'
)


def chunk(data: bytes) -> bytes:
    """One piece of a chunked body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@dataclass
class TinyGateway:
    """A TLS server on 127.0.0.1: `/auth/check_jwt` gives a session, `/stream/meter` runs
    `script`, whatever else is a 404. Remembers every request and when each connection ended."""

    script: Script
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    open_connections: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=make_server_context()
        )

    async def close(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                path = lines[0].split(" ")[1]
                headers = dict(line.split(": ", 1) for line in lines[1:] if line)
                self.requests.append((path, {k.lower(): v for k, v in headers.items()}))
                if path == "/auth/check_jwt":
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                        b"Set-Cookie: sessionId=s3ss10n; Path=/\r\n\r\nok"
                    )
                elif path == "/stream/meter":
                    await self.script(writer)
                    await reader.read()  # until the client hangs up
                    return
                else:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.open_connections -= 1
            self.writers.discard(writer)
            self.closed.set()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


TOKEN = TokenIssuer().mint("122300000001", "installer", 3600)


@contextlib.asynccontextmanager
async def tiny_gateway(script: Script) -> AsyncIterator[tuple[TinyGateway, EnvoyClient]]:
    gateway = TinyGateway(script)
    await gateway.start()
    client = EnvoyClient.connect_to("127.0.0.1", TOKEN, port=gateway.port, timeout_s=5.0)
    try:
        yield gateway, client
    finally:
        await client.close()
        await gateway.close()


def pieces(*parts: bytes, pause_s: float = 0.01) -> Script:
    """A 200 stream whose body comes in these chunks, each written on its own, then silence."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(STREAM_HEAD)
        for part in parts:
            writer.write(chunk(part))
            await writer.drain()
            await asyncio.sleep(pause_s)

    return script


def status(line: bytes, headers: bytes = b"") -> Script:
    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 " + line + b"\r\nContent-Length: 0\r\n" + headers + b"\r\n")
        await writer.drain()

    return script


async def test_events_whatever_the_cut_of_the_reads() -> None:
    stream_bytes = (GOOD + b"\r\n\r\n" + b": keep-alive\n\n" + GOOD + b"\r\r" + GOOD + b"\n\n") * 2
    cuts = [stream_bytes[i : i + 7] for i in range(0, len(stream_bytes), 7)]
    # A \r\n split between two reads, on purpose.
    at = stream_bytes.index(b"\r\n\r\n") + 1
    odd = [stream_bytes[:at], stream_bytes[at:]]
    for parts in (cuts, odd, [stream_bytes]):
        gateway = tiny_gateway(pieces(*parts, pause_s=0.002))
        async with gateway as (_, client), client.meter_stream() as stream:
            powers = await take(stream, 6)
        assert [p.production_w for p in powers] == [100.5] * 6
        assert powers[0].grid_w == -20 and powers[0].consumption_w is None
        assert powers[0].production_phases_w == ()  # one phase in use


async def test_the_stream_request_carries_the_session_and_the_token() -> None:
    async with tiny_gateway(pieces(GOOD + b"\n\n")) as (gateway, client):
        stream = client.meter_stream()
        async with stream:
            await take(stream, 1)
    path, headers = gateway.requests[-1]
    assert path == "/stream/meter"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["cookie"] == "sessionId=s3ss10n"
    assert headers["accept"] == "text/event-stream"


async def test_garbage_is_skipped_and_counted_ten_in_a_row_end_the_stream() -> None:
    bad = b"data: {not json\n\n"
    script = pieces(bad * 3 + GOOD + b"\n\n" + bad * 9 + GOOD + b"\n\n" + bad * 10)
    async with tiny_gateway(script) as (gateway, client):
        async with client.meter_stream() as stream:
            assert len(await take(stream, 2)) == 2  # the good ones first, whatever the reads
            with pytest.raises(BadResponse, match="10 events in a row could not be read"):
                await take(stream, 1)
            assert stream.garbage_events == 22
        await asyncio.wait_for(gateway.closed.wait(), 2)


async def test_an_oversized_event_is_dropped() -> None:
    huge = b"data: " + b"x" * (70 * 1024)
    script = pieces(huge, b"\n\n" + GOOD + b"\n\n")
    async with tiny_gateway(script) as (_, client), client.meter_stream() as stream:
        assert len(await take(stream, 1)) == 1
        assert stream.discarded_events == 1


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        (b"403 Forbidden", NotPermitted, r"\(403\) on /stream/meter"),
        (b"404 Not Found", NotFound, r"not found \(404\) on /stream/meter"),
        (b"500 Internal Server Error", BadResponse, "/stream/meter: the gateway answered HTTP 500"),
    ],
)
async def test_refusals(line: bytes, error: type[Exception], message: str) -> None:
    async with tiny_gateway(status(line)) as (gateway, client):
        with pytest.raises(error, match=message):
            async with client.meter_stream():
                pass
        await asyncio.wait_for(gateway.closed.wait(), 2)
        assert [p for p, _ in gateway.requests].count("/stream/meter") == 1


async def test_401_twice_is_auth_rejected() -> None:
    async with tiny_gateway(status(b"401 Unauthorized")) as (gateway, client):
        with pytest.raises(AuthRejected, match=r"\(401\) on /stream/meter") as raised:
            async with client.meter_stream():
                pass
    paths = [p for p, _ in gateway.requests]
    assert paths == ["/auth/check_jwt", "/stream/meter", "/auth/check_jwt", "/stream/meter"]
    assert TOKEN not in str(raised.value)


async def test_a_redirect_is_not_followed() -> None:
    script = status(b"302 Found", b"Location: https://elsewhere.example/x?token=secret\r\n")
    async with tiny_gateway(script) as (gateway, client):
        with pytest.raises(BadResponse, match=r"elsewhere\.example/x'; gem-envoy follows no"):
            async with client.meter_stream():
                pass
    assert [p for p, _ in gateway.requests].count("/stream/meter") == 1


async def test_silence_after_the_head_is_a_stall() -> None:
    async with tiny_gateway(pieces()) as (gateway, client):
        started = time.monotonic()
        async with client.meter_stream(idle_timeout_s=0.3) as stream:
            with pytest.raises(StreamStalled):
                await take(stream, 1)
        assert time.monotonic() - started < 0.3 + 1.0
        await asyncio.wait_for(gateway.closed.wait(), 2)
        assert gateway.open_connections == 1  # the poll's connection (token check) only


async def test_the_gateway_ending_the_stream_is_unreachable() -> None:
    async def ends(writer: asyncio.StreamWriter) -> None:
        writer.write(STREAM_HEAD + chunk(GOOD + b"\n\n") + b"0\r\n\r\n")
        await writer.drain()

    async with tiny_gateway(ends) as (_, client), client.meter_stream() as stream:
        assert len(await take(stream, 1)) == 1
        with pytest.raises(Unreachable, match="ended its meter stream"):
            await take(stream, 1)


async def test_a_connection_cut_mid_event_is_unreachable() -> None:
    async def cut(writer: asyncio.StreamWriter) -> None:
        writer.write(STREAM_HEAD + chunk(GOOD + b"\n\n" + GOOD[:30]))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()

    async with tiny_gateway(cut) as (_, client), client.meter_stream() as stream:
        with pytest.raises(Unreachable, match=r"127\.0\.0\.1:\d+ was lost during /stream/meter"):
            await take(stream, 2)
        assert not stream.is_open


async def test_leaving_the_block_closes_the_socket_at_once() -> None:
    async def endless(writer: asyncio.StreamWriter) -> None:
        writer.write(STREAM_HEAD)
        for _ in range(1000):
            writer.write(chunk(GOOD + b"\n\n"))
            await writer.drain()
            await asyncio.sleep(0.01)

    async with tiny_gateway(endless) as (gateway, client):
        async with client.meter_stream() as stream:
            await take(stream, 2)
            assert repr(stream) == f"MeterStream(127.0.0.1:{gateway.port}, open)"
            assert TOKEN not in repr(stream) and TOKEN not in repr(client)
        assert repr(stream).endswith("closed)")
        await asyncio.wait_for(gateway.closed.wait(), 2)


async def test_a_stream_must_be_opened_first() -> None:
    async with tiny_gateway(pieces()) as (_, client):
        stream = client.meter_stream()
        with pytest.raises(RuntimeError, match="open the meter stream first"):
            await take(stream, 1)
        with pytest.raises(ValueError, match="idle_timeout_s"):
            client.meter_stream(idle_timeout_s=0)


def test_a_capture_has_no_meter_stream() -> None:
    transport = capture_transport("7.6.175_with_cts_3phase")
    client = EnvoyClient(transport, transport.mint("installer"))
    with pytest.raises(NotFound, match="/stream/meter"):
        client.meter_stream()


async def test_the_stream_connection_checks_the_certificate_pin() -> None:
    async with tiny_gateway(pieces(GOOD + b"\n\n")) as (gateway, _):
        pinned = HttpsTransport("127.0.0.1", gateway.port, pin=CertificatePin("ab" * 32))
        try:
            with pytest.raises(CertificateChanged):
                await pinned.open_stream("/stream/meter", {"Authorization": f"Bearer {TOKEN}"})
        finally:
            await pinned.close()
    assert gateway.requests == []  # refused in the handshake, before a request was written


async def test_a_head_that_never_comes_is_a_timeout() -> None:
    async def mute(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)

    async with tiny_gateway(mute) as (gateway, _):
        client = EnvoyClient.connect_to("127.0.0.1", TOKEN, port=gateway.port, timeout_s=0.3)
        try:
            with pytest.raises(GatewayTimeout, match="did not answer /stream/meter within 300 ms"):
                async with client.meter_stream():
                    pass
        finally:
            await client.close()

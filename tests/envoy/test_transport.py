"""`HttpsTransport` against a gateway that decides every byte (`scripted_gateway`): answers cut
anywhere across TLS records and TCP writes, chunked bodies, the body cap, a deadline in the
middle of a body, kept-alive connections the gateway closes, the pin, and the meter stream's
bytes handed on as they come."""

from __future__ import annotations

import asyncio
import time

import pytest

from gem_envoy.envoy.certificate import CertificateChanged
from gem_envoy.envoy.certificate_pin import CertificatePin
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import BadResponse, GatewayTimeout, Unreachable
from gem_envoy.envoy.transport import HttpsTransport
from gem_envoy.sim.auth import TokenIssuer
from tests.envoy.scripted_gateway import Answer, Request, Script, ScriptedGateway, chunk, head

MIB = 1024 * 1024
JSON = b'{"wattsNow": 1234, "wattHoursToday": 5678, "wattHoursLifetime": 91011}' * 20
TOKEN = TokenIssuer().mint("122300000001", "installer", 3600)


def fixed(
    *records: bytes, segment_bytes: int = 0, pause_s: float = 0.0, then: str = "keep"
) -> Script:
    """A gateway script answering every request with these records."""

    async def script(_: Request) -> Answer:
        return Answer(list(records), segment_bytes, pause_s, then)

    return script


def transport_to(
    gateway: ScriptedGateway, timeout_s: float = 5.0, pin: CertificatePin | None = None
) -> HttpsTransport:
    return HttpsTransport("127.0.0.1", gateway.port, timeout_s=timeout_s, pin=pin)


async def test_an_answer_cut_across_records_and_segments_arrives_whole() -> None:
    whole = (
        head(
            "200 OK",
            "Content-Type: application/json",
            f"Content-Length: {len(JSON)}",
            "Set-Cookie: sessionId=abc; Path=/",
        )
        + JSON
    )
    # Records cut mid-header and mid-body; each record's ciphertext in 7-byte writes.
    records = [
        whole[:25],
        whole[25:140],
        *(whole[i : i + 300] for i in range(140, len(whole), 300)),
    ]
    async with ScriptedGateway(fixed(*records, segment_bytes=7, pause_s=0.0005)) as gateway:
        transport = transport_to(gateway)
        try:
            reply = await transport.get("/api/v1/production", {"Accept": "application/json"})
            again = await transport.get("/api/v1/production", {})
        finally:
            await transport.close()
        port = gateway.port
    assert reply.status == 200 and reply.body == JSON == again.body
    assert reply.content_type == "application/json"
    assert reply.set_cookie == ("sessionId=abc; Path=/",)
    assert gateway.handshakes == 1  # the second request reused the connection
    assert gateway.requests[0].header("accept") == "application/json"
    assert gateway.requests[0].header("host") == f"127.0.0.1:{port}"


async def test_a_chunked_body_is_joined_and_the_connection_kept() -> None:
    pieces = [JSON[:10], JSON[10:700], JSON[700:]]
    body = b"".join(chunk(p) for p in pieces) + b"0\r\n\r\n"
    answer = head("200 OK", "Transfer-Encoding: chunked") + body
    # One chunk's size line cut from its data, and the last chunk from its terminator.
    records = [answer[:60], answer[60:75], answer[75:-3], answer[-3:]]
    async with ScriptedGateway(fixed(*records, segment_bytes=50)) as gateway:
        transport = transport_to(gateway)
        try:
            first = await transport.get("/production.json", {})
            second = await transport.get("/production.json", {})
        finally:
            await transport.close()
    assert first.body == second.body == JSON
    assert gateway.handshakes == 1


async def test_a_body_ending_with_the_connection_is_whole_and_the_next_request_reconnects() -> None:
    async with ScriptedGateway(fixed(head("200 OK") + JSON, then="close")) as gateway:
        transport = transport_to(gateway)
        try:
            assert (await transport.get("/info", {})).body == JSON
            assert (await transport.get("/info", {})).body == JSON
        finally:
            await transport.close()
    assert gateway.handshakes == 2


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_four_mib_pass_and_one_byte_more_is_refused(framing: str) -> None:
    def answer(size: int) -> list[bytes]:
        body = b"x" * size
        if framing == "content-length":
            return [head("200 OK", f"Content-Length: {size}"), body]
        chunks = [chunk(body[:MIB]), chunk(body[MIB:]), b"0\r\n\r\n"]
        return [head("200 OK", "Transfer-Encoding: chunked"), *chunks]

    async def script(request: Request) -> Answer:
        return Answer(answer(4 * MIB + (1 if request.path == "/over" else 0)))

    async with ScriptedGateway(script) as gateway:
        transport = transport_to(gateway)
        try:
            assert len((await transport.get("/exact", {})).body) == 4 * MIB
            with pytest.raises(
                BadResponse, match=r"bad response from /over: body larger than 4 MiB"
            ):
                await transport.get("/over", {})
            await asyncio.wait_for(gateway.closed.wait(), 2)  # that connection was dropped
            assert len((await transport.get("/exact", {})).body) == 4 * MIB  # on a new one
        finally:
            await transport.close()
    assert gateway.handshakes == 2


async def test_a_deadline_in_the_middle_of_a_body_is_a_timeout_and_drops_the_connection() -> None:
    async with ScriptedGateway(
        fixed(head("200 OK", f"Content-Length: {len(JSON)}") + JSON[:100], then="hang")
    ) as gateway:
        transport = transport_to(gateway, timeout_s=0.3)
        started = time.monotonic()
        try:
            with pytest.raises(
                GatewayTimeout, match=r"did not answer /production\.json within 300"
            ):
                await transport.get("/production.json", {})
            assert time.monotonic() - started < 0.3 + 0.5
            await asyncio.wait_for(gateway.closed.wait(), 2)  # no request left in flight
        finally:
            await transport.close()


async def test_an_answer_cut_short_is_a_bad_response() -> None:
    cut = head("200 OK", f"Content-Length: {len(JSON)}") + JSON[:100]
    async with ScriptedGateway(fixed(cut, then="close")) as gateway:
        transport = transport_to(gateway)
        try:
            with pytest.raises(BadResponse, match="broke off its answer"):
                await transport.get("/production.json", {})
        finally:
            await transport.close()


async def test_garbage_instead_of_http_is_a_bad_response() -> None:
    async with ScriptedGateway(fixed(b"<html>hello</html>\r\n\r\n")) as gateway:
        transport = transport_to(gateway)
        try:
            with pytest.raises(BadResponse, match="malformed HTTP"):
                await transport.get("/info", {})
        finally:
            await transport.close()


async def test_a_kept_connection_the_gateway_closed_while_idle_is_replaced() -> None:
    ok = head("200 OK", "Content-Length: 2") + b"ok"
    async with ScriptedGateway(fixed(ok, then="close")) as gateway:
        transport = transport_to(gateway)
        try:
            # The answer promises keep-alive, but the gateway hangs up after it.
            assert (await transport.get("/info", {})).body == b"ok"
            await asyncio.wait_for(gateway.closed.wait(), 2)
            await asyncio.sleep(0.05)  # the close reached the client
            assert (await transport.get("/info", {})).body == b"ok"
        finally:
            await transport.close()
    assert [r.connection for r in gateway.requests] == [0, 1]


async def test_a_kept_connection_closed_as_a_request_arrives_retries_a_get_once() -> None:
    ok = head("200 OK", "Content-Length: 2") + b"ok"

    async def script(request: Request) -> Answer | None:
        # The second request on the first connection meets a gateway that has just dropped
        # it: closed without an answer, as a gateway's idle timeout would.
        if request.connection == 0 and len(gateway.requests) == 2:
            return None
        return Answer([ok])

    async with ScriptedGateway(script) as gateway:
        transport = transport_to(gateway)
        try:
            await transport.get("/info", {})
            assert (await transport.get("/production.json", {})).body == b"ok"
        finally:
            await transport.close()
    assert [(r.path, r.connection) for r in gateway.requests] == [
        ("/info", 0),
        ("/production.json", 0),
        ("/production.json", 1),
    ]


async def test_a_post_is_never_sent_twice() -> None:
    ok = head("200 OK", "Content-Length: 2") + b"ok"

    async def script(request: Request) -> Answer | None:
        return None if request.method == "POST" else Answer([ok])

    async with ScriptedGateway(script) as gateway:
        transport = transport_to(gateway)
        try:
            await transport.get("/info", {})
            with pytest.raises(Unreachable, match=r"failed during /ivp/livedata/stream"):
                await transport.post("/ivp/livedata/stream", {}, b'{"enable":1}')
            await transport.get("/info", {})  # and the transport goes on working
        finally:
            await transport.close()
    assert [r.method for r in gateway.requests] == ["GET", "POST", "GET"]
    assert gateway.requests[1].body == b'{"enable":1}'


async def test_connection_close_is_honoured() -> None:
    ok = head("200 OK", "Content-Length: 2", "Connection: close") + b"ok"
    async with ScriptedGateway(fixed(ok)) as gateway:  # the gateway itself keeps it open
        transport = transport_to(gateway)
        try:
            await transport.get("/info", {})
            await asyncio.wait_for(gateway.closed.wait(), 2)  # the client closed it
            await transport.get("/info", {})
        finally:
            await transport.close()
    assert gateway.handshakes == 2


async def test_a_pin_mismatch_sends_not_one_byte_of_request() -> None:
    ok = head("200 OK", "Content-Length: 2") + b"ok"
    async with ScriptedGateway(fixed(ok)) as gateway:
        transport = transport_to(gateway, pin=CertificatePin("ab" * 32))
        try:
            with pytest.raises(CertificateChanged) as changed:
                await transport.get("/auth/check_jwt", {"Authorization": f"Bearer {TOKEN}"})
        finally:
            await transport.close()
        await asyncio.wait_for(gateway.closed.wait(), 2)
    assert changed.value.expected == "ab" * 32
    assert TOKEN not in changed.value.message
    assert gateway.requests == [] and gateway.plaintext_bytes == 0


async def test_a_header_value_cannot_add_a_header() -> None:
    async with ScriptedGateway(fixed(head("200 OK", "Content-Length: 0"))) as gateway:
        transport = transport_to(gateway)
        try:
            with pytest.raises(ValueError, match="line break") as refused:
                await transport.get("/info", {"Authorization": "Bearer x\r\nX-Evil: 1"})
        finally:
            await transport.close()
    assert "Bearer" not in str(refused.value)
    assert gateway.plaintext_bytes == 0


async def test_the_meter_stream_yields_each_event_as_it_arrives() -> None:
    event = (
        b'data: {"production":{"ph-a":{"p":%d,"v":230},"ph-b":{"p":0,"v":0},'
        b'"ph-c":{"p":0,"v":0}},"net-consumption":{"ph-a":{"p":-20,"v":230}}}\n\n'
    )

    async def script(request: Request) -> Answer:
        if request.path == "/auth/check_jwt":
            return Answer([head("200 OK", "Content-Length: 0", "Set-Cookie: sessionId=s")])
        stream_head = head(
            "200 OK", "Content-Type: text/event-stream", "Transfer-Encoding: chunked"
        )
        return Answer([stream_head, chunk(event % 100)], then="keep")

    async with ScriptedGateway(script) as gateway:
        client = EnvoyClient.connect_to("127.0.0.1", TOKEN, port=gateway.port, timeout_s=5)
        try:
            async with client.meter_stream() as stream:
                # The gateway sends one event and then nothing: it must come through alone.
                power = await asyncio.wait_for(anext(stream), 2)
                assert power.production_w == 100
        finally:
            await client.close()
    assert [r.path for r in gateway.requests] == ["/auth/check_jwt", "/stream/meter"]
    assert {r.connection for r in gateway.requests} == {0, 1}  # a connection of its own

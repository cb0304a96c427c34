"""HTTP/1.1 over one accepted connection, with h11: requests in, answers out.

`serve_connection` reads the requests of one connection one after the other (keep-alive, and
pipelined requests are answered in order) and hands each to a `Handler` together with an
`Exchange`, the handler's control over how the answer goes out.

This is the seam for fault injection (see `fault_layer`): a fault layer is a `Handler` that
wraps the gateway's handler. It may answer in its place, delay, or set the exchange's
``intercept`` so that the inner handler's ``send`` misbehaves. Besides the well-behaved ``send``,
an exchange offers the pieces a fault needs: ``send_head``/``send_body``/``end`` to drip a body
slowly, ``send_raw`` to write bytes that bypass HTTP framing (a truncated or garbled answer),
``close`` to hang up after what was sent, ``abort`` to drop the connection without a TLS goodbye,
``reset`` to drop it with a TCP RST, ``wait_hangup`` to hold it without answering, and
``until_hangup`` to notice a client that leaves while an endless answer goes on.
Every body byte written goes through ``on_body`` (the stats count them as they go out).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import h11

SERVER_HEADER = "openresty/1.17.8.1"
JSON_TYPE = "application/json"
XML_TYPE = "text/xml"
HTML_TYPE = "text/html"
_READ_SIZE = 65536
_MAX_BODY = 1 << 20
_CLOSE_TIMEOUT_S = 2.0
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Not Allowed",
    409: b"Conflict",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    """One request, read in full (the gateway's requests have small bodies or none)."""

    method: str
    target: str
    path: str
    query: str
    headers: Mapping[str, str]
    """Lower-case names; repeated headers are joined (``cookie`` with ``; ``, others ``, ``)."""
    body: bytes = b""

    @classmethod
    def build(cls, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
        path, _, query = target.partition("#")[0].partition("?")
        return cls(method, target, path or "/", query, headers, body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class Response:
    """An answer. ``stream`` (instead of ``body``) is sent chunked as it is produced."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value).encode())


def error_response(status: int, message: str | None = None) -> Response:
    """The small JSON error body the simulator gives for its own refusals."""
    reason = _REASONS.get(status, b"Error").decode()
    return json_response({"status": status, "error": message or reason}, status)


class ExchangeState(enum.Enum):
    PENDING = "pending"
    HEAD_SENT = "head_sent"
    DONE = "done"
    CLOSED = "closed"
    """The connection must end after this exchange (raw bytes written, closed or aborted)."""


Handler = Callable[[Request, "Exchange"], Awaitable[None]]
Intercept = Callable[["Exchange", Response], Awaitable[int]]


class Exchange:
    """One request's hold on its connection: the ways to answer, or to misbehave."""

    def __init__(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: Request,
        reader: asyncio.StreamReader | None = None,
    ):
        self._conn = conn
        self._writer = writer
        self._reader = reader
        self.request = request
        self.state = ExchangeState.PENDING
        self.intercept: Intercept | None = None
        """Takes over the next ``send`` (once): how a fault mangles an answer it did not build."""
        self.clock_offset_s = 0.0
        """Added to the time in the Date header (a gateway whose clock is off)."""
        self.on_body: Callable[[int], None] | None = None
        """Told the size of each piece of body written (raw bytes included)."""

    async def send(self, response: Response) -> int:
        """Answer properly; returns the number of body bytes sent (0 for HEAD).

        With an ``intercept`` set, hands the answer to it instead. The intercept is cleared
        first, so that it may call ``send`` itself for a proper answer.
        """
        intercept, self.intercept = self.intercept, None
        if intercept is not None:
            return await intercept(self, response)
        await self.send_head(response)
        sent = 0
        if response.stream is not None:
            async for chunk in response.stream:
                sent += await self.send_body(chunk)
        else:
            sent = await self.send_body(response.body)
        await self.end()
        return sent

    async def send_head(self, response: Response) -> None:
        """Status line and headers (with Content-Length unless the response streams)."""
        date = formatdate(time.time() + self.clock_offset_s, usegmt=True)
        headers = [("server", SERVER_HEADER), ("date", date)]
        if response.content_type:
            headers.append(("content-type", response.content_type))
        if response.stream is None:
            headers.append(("content-length", str(len(response.body))))
        headers.append(("connection", "keep-alive"))
        headers.extend(response.headers)
        reason = _REASONS.get(response.status, b"")
        await self._write(h11.Response(status_code=response.status, headers=headers, reason=reason))
        self.state = ExchangeState.HEAD_SENT

    async def send_body(self, data: bytes) -> int:
        """Send part of the body; returns the number of bytes sent (none in answer to HEAD)."""
        if not data or self._is_head():
            return 0
        await self._write(h11.Data(data=data))
        self._count(len(data))
        return len(data)

    async def end(self) -> None:
        await self._write(h11.EndOfMessage())
        self.state = ExchangeState.DONE

    async def send_raw(self, data: bytes) -> None:
        """Write bytes outside HTTP framing; the connection is closed after this exchange."""
        self.state = ExchangeState.CLOSED
        self._writer.write(data)
        self._count(len(data))
        await self._writer.drain()

    def close(self) -> None:
        """Hang up (with a TLS close_notify) once the handler returns."""
        self.state = ExchangeState.CLOSED

    def abort(self) -> None:
        """Drop the connection at once, without a TLS goodbye."""
        self.state = ExchangeState.CLOSED
        self._writer.transport.abort()

    def reset(self) -> None:
        """Drop the connection with a TCP RST: SO_LINGER 0 makes the kernel's close send one."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.abort()

    async def wait_hangup(self, timeout_s: float) -> None:
        """Hold the connection without answering until the client hangs up or ``timeout_s``
        passes; the connection is closed after this exchange either way.

        Whatever the client sends meanwhile is read and dropped: reading is how a hang-up shows.
        """
        self.state = ExchangeState.CLOSED
        if self._reader is None:
            await asyncio.sleep(timeout_s)
            return
        with contextlib.suppress(TimeoutError, ConnectionError, OSError, ssl.SSLError):
            async with asyncio.timeout(timeout_s):
                while await self._reader.read(_READ_SIZE):
                    pass

    async def until_hangup(self) -> None:
        """Return once the client has hung up (whatever it sends meanwhile is dropped).

        For answers that never end (``/stream/meter``): run it beside the writing, so that a
        client that leaves is noticed at once rather than at the next write.
        """
        reader = self._reader
        if reader is None:
            await asyncio.Event().wait()  # nothing to watch: never
            return
        with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
            while await reader.read(_READ_SIZE):
                pass

    def _count(self, size: int) -> None:
        if self.on_body is not None:
            self.on_body(size)

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry another request after this one."""
        return (
            self.state is ExchangeState.DONE
            and self._conn.our_state is h11.DONE
            and self._conn.their_state is h11.DONE
        )

    def _is_head(self) -> bool:
        return self.request.method == "HEAD"

    async def _write(self, event: h11.Event) -> None:
        data = self._conn.send(event)
        if data:
            self._writer.write(data)
            await self._writer.drain()


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handler: Handler,
    idle_timeout_s: float,
) -> None:
    """Serve requests on one (already TLS-wrapped) connection until either side ends it."""
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            try:
                request = await _read_request(conn, reader, idle_timeout_s)
            except h11.RemoteProtocolError as exc:
                await _refuse(conn, writer, exc.error_status_hint)
                break
            if request is None:
                break
            exchange = Exchange(conn, writer, request, reader)
            await _dispatch(handler, request, exchange)
            if not exchange.reusable:
                break
            conn.start_next_cycle()
    except (TimeoutError, ConnectionError, ssl.SSLError, h11.LocalProtocolError, OSError):
        pass
    finally:
        await close_writer(writer)


async def close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), _CLOSE_TIMEOUT_S)


async def _next_event(
    conn: h11.Connection, reader: asyncio.StreamReader, timeout_s: float
) -> object:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(_READ_SIZE), timeout_s)
            conn.receive_data(data)
            continue
        return event


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, timeout_s: float
) -> Request | None:
    """The next request in full, or None when the client is gone."""
    event = await _next_event(conn, reader, timeout_s)
    if not isinstance(event, h11.Request):
        return None
    body = bytearray()
    while True:
        part = await _next_event(conn, reader, timeout_s)
        if isinstance(part, h11.EndOfMessage):
            break
        if not isinstance(part, h11.Data):
            return None
        body += part.data
        if len(body) > _MAX_BODY:
            raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
    return Request.build(
        event.method.decode("ascii", "replace"),
        event.target.decode("ascii", "replace"),
        _header_map(event.headers),
        bytes(body),
    )


def _header_map(raw: list[tuple[bytes, bytes]] | Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        value = value_b.decode("latin-1")
        if name in headers:
            joiner = "; " if name == "cookie" else ", "
            headers[name] = headers[name] + joiner + value
        else:
            headers[name] = value
    return headers


async def _dispatch(handler: Handler, request: Request, exchange: Exchange) -> None:
    try:
        await handler(request, exchange)
    except (ConnectionError, ssl.SSLError, h11.LocalProtocolError):
        raise
    except Exception:
        log.exception("simulator handler failed on %s %s", request.method, request.target)
        if exchange.state is not ExchangeState.PENDING:
            exchange.abort()
            return
        await exchange.send(error_response(500))
    if exchange.state is ExchangeState.PENDING:
        await exchange.send(error_response(500, "no answer"))


async def _refuse(conn: h11.Connection, writer: asyncio.StreamWriter, status: int) -> None:
    """Answer a request h11 could not parse, if the state still allows an answer."""
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    headers = [("server", SERVER_HEADER), ("content-length", "0"), ("connection", "close")]
    with contextlib.suppress(h11.LocalProtocolError, ConnectionError, OSError):
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()

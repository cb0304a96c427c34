"""A TLS gateway on 127.0.0.1 whose every ciphertext byte a test decides.

The simulator and asyncio's TLS server write whole records as they please; the transport's
tests need more: an answer cut into TLS records at chosen places, each record cut into TCP
writes of a few bytes, a connection closed between two requests, silence in the middle of a
body. So this server does its TLS itself, through `ssl.MemoryBIO` on a plain TCP connection:
each `Answer.records` item is one `SSLObject.write` (one record), and the records' ciphertext
goes out in writes of `segment_bytes`, with a pause after each.

It also counts what a client cannot hide: handshakes, the requests' heads, and every plaintext
byte received (a pinned client that refuses the certificate must have sent none).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gem_envoy.sim.certs import make_server_context


@dataclass
class Answer:
    records: list[bytes]  # plaintext, one TLS record each
    segment_bytes: int = 0  # 0: each record's ciphertext in one write
    pause_s: float = 0.0  # after each write
    then: str = "keep"  # "keep" the connection, "close" it (close_notify + FIN), "hang"


@dataclass
class Request:
    head: bytes
    body: bytes
    connection: int  # which connection (0, 1, ...) carried it

    @property
    def method(self) -> str:
        return self.head.split(b" ", 1)[0].decode()

    @property
    def path(self) -> str:
        return self.head.split(b" ", 2)[1].decode()

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


Script = Callable[[Request], Awaitable[Answer | None]]  # None: close without answering


@dataclass
class ScriptedGateway:
    script: Script
    context: ssl.SSLContext = field(default_factory=make_server_context)
    handshakes: int = 0
    requests: list[Request] = field(default_factory=list)
    connections_closed: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _sides: list[_ServerTls] = field(default_factory=list)

    @property
    def plaintext_bytes(self) -> int:
        """Every byte of request received, on every connection, answered or not."""
        return sum(side.received for side in self._sides)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> ScriptedGateway:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = len(self._sides)
        self._writers.add(writer)
        tls = _ServerTls(self.context, reader, writer)
        self._sides.append(tls)
        try:
            await tls.handshake()
            self.handshakes += 1
            while True:
                request = await self._next_request(tls, number)
                if request is None:
                    return
                answer = await self.script(request)
                if answer is None:
                    return
                for record in answer.records:
                    await tls.send_record(record, answer.segment_bytes, answer.pause_s)
                if answer.then == "close":
                    await tls.goodbye()
                    return
                if answer.then == "hang":
                    await reader.read()  # until the client leaves
                    return
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            self.connections_closed += 1
            self.closed.set()

    async def _next_request(self, tls: _ServerTls, number: int) -> Request | None:
        while b"\r\n\r\n" not in tls.buffer:
            if not await tls.receive():
                return None
        head, _, rest = tls.buffer.partition(b"\r\n\r\n")
        request = Request(head, b"", number)
        length = int(request.header("content-length") or 0)
        while len(rest) < length:
            tls.buffer = rest
            if not await tls.receive():
                return None
            rest = tls.buffer
        tls.buffer = rest[length:]
        request.body = rest[:length]
        self.requests.append(request)
        return request


class _ServerTls:
    """The server's side of one connection: TLS through memory BIOs over a stream pair."""

    def __init__(
        self, context: ssl.SSLContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.reader = reader
        self.writer = writer
        self.buffer = b""
        self.received = 0  # plaintext bytes

    async def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionResetError("the client left in the handshake") from None
                self.incoming.write(data)
        await self._flush()

    async def receive(self) -> bool:
        """Read more plaintext into `buffer`; False when the client has gone."""
        while True:
            try:
                plaintext = self.tls.read(65536)
            except ssl.SSLWantReadError:
                data = await self.reader.read(65536)
                if not data:
                    return False
                self.incoming.write(data)
                continue
            except ssl.SSLZeroReturnError:
                return False
            if not plaintext:
                return False
            self.received += len(plaintext)
            self.buffer += plaintext
            return True

    async def send_record(self, plaintext: bytes, segment_bytes: int, pause_s: float) -> None:
        self.tls.write(plaintext)
        ciphertext = self.outgoing.read()
        step = segment_bytes or len(ciphertext)
        for start in range(0, len(ciphertext), step):
            self.writer.write(ciphertext[start : start + step])
            await self.writer.drain()
            if pause_s:
                await asyncio.sleep(pause_s)

    async def goodbye(self) -> None:
        with contextlib.suppress(ssl.SSLError):
            self.tls.unwrap()
        await self._flush()
        self.writer.close()

    async def _flush(self) -> None:
        if self.outgoing.pending:
            self.writer.write(self.outgoing.read())
            await self.writer.drain()


def head(status: str = "200 OK", *headers: str) -> bytes:
    """An answer's head: the status line and these header lines."""
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    """One piece of a chunked body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"

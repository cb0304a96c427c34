"""HTTPS to one gateway: one kept-alive connection, one request at a time, bounded bodies.

The gateway is a small box that freezes when asked for two things at once, so every request
to it goes through one lock and one connection. Its certificate is self-signed, so it is not
verified; given a `CertificatePin`, it is recognised instead, in the handshake of every new
connection, before any request is written. This layer knows nothing of tokens
or endpoints: it moves bytes and turns transport failures into `EnvoyError`s.

The one exception to "one connection": `open_stream`, for `/stream/meter`, whose answer never
ends, holds a second connection of its own (same TLS settings and pin), outside the lock.

Built on `tls_bio` (TLS through `ssl.MemoryBIO` on a plain asyncio connection) and `http1`
(httptools' parser), for memory: asyncio's own TLS transport, which aiohttp used here, holds a
256 KiB buffer per connection, and a host may watch a thousand gateways. Measured against one
local TLS server with 3 KB answers: 1000 kept-alive connections hold about 46 KB each (about
310 KB through aiohttp), and a request costs about 120 us of CPU (about 240 through aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

from gem_envoy.envoy import http1
from gem_envoy.envoy.certificate_pin import CertificatePin
from gem_envoy.envoy.errors import BadResponse, GatewayTimeout, Unreachable
from gem_envoy.envoy.tls_bio import TlsConnection, TlsHandshakeFailed, open_tls
from gem_envoy.envoy.transport_protocol import Response

MAX_BODY_BYTES = 4 * 1024 * 1024
# Longer than any polling interval, so polls every few minutes keep reusing one connection.
KEEPALIVE_SECONDS = 900.0
# Sent once more on a fresh connection when a kept-alive one turns out closed before any byte
# of the answer came (the gateway dropped it while idle: RFC 9112, 9.3.1). POST is not: it
# turns the gateway's live data on, and is not idempotent.
RETRIED_METHODS = frozenset({"GET", "PUT"})


@functools.cache
def _unverified_tls() -> ssl.SSLContext:
    """One context for every gateway: a context holds hundreds of KB, and a host may watch
    a thousand gateways."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _ClosedBeforeAnswer(Exception):
    """The connection ended (or failed) before any byte of the answer came."""


def _authority(host: str, port: int) -> str:
    """`host[:port]` as the Host header and a URL write it (an IPv6 address in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return shown if port == 443 else f"{shown}:{port}"


def _server_name(host: str) -> str | None:
    """The name sent in the handshake (SNI): none for an address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


class HttpsTransport:
    """One gateway's HTTPS connection (a `Transport`). Requests are serialised; each has a
    total deadline."""

    def __init__(
        self,
        host: str,
        port: int = 443,
        *,
        timeout_s: float = 10.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        pin: CertificatePin | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        # With a pin, every new connection's certificate is checked in the handshake, before
        # a request is written (see `certificate`); without one, any certificate is accepted.
        self.pin = pin
        self._address = host.removeprefix("[").removesuffix("]")
        self._host_header = _authority(self._address, port)
        self._where = f"{host}:{port}"
        self._lock = asyncio.Lock()
        self._connection: TlsConnection | None = None
        self._idle_since = 0.0  # loop time the kept connection's last answer ended

    async def get(self, path: str, headers: Mapping[str, str]) -> Response:
        """GET `path`; the whole exchange, body included, must finish within `timeout_s`."""
        return await self.request("GET", path, headers)

    async def put(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """PUT `body` to `path`, under the same rules as a GET (one at a time, one deadline
        for the whole exchange, capped answer, no redirect followed)."""
        return await self.request("PUT", path, headers, body)

    async def post(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """POST `body` to `path`, under the same rules as a GET."""
        return await self.request("POST", path, headers, body)

    async def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Response:
        """One exchange with the gateway, never beside another."""
        message = http1.request_bytes(method, path, self._host_header, headers, body)
        async with self._lock:
            try:
                async with self._failures(path), asyncio.timeout(self.timeout_s):
                    return await self._exchange_once_or_twice(method, path, message)
            except BaseException:
                # A failed exchange may leave a request the gateway is still working on: the
                # connection goes with it, so that no request of ours stays in flight.
                self._drop_connection(politely=False)
                raise

    async def open_stream(self, path: str, headers: Mapping[str, str]) -> HttpsStream:
        """GET `path` on a connection of its own, beside the requests (not under their lock),
        for an answer whose body does not end (`/stream/meter`). The same TLS settings and
        pin as every request; the connection and the answer's head must come within
        `timeout_s`, as a request's would; the body has neither deadline nor cap (it is read
        piece by piece, and the reader watches for silence). No redirect is followed."""
        message = http1.request_bytes("GET", path, self._host_header, headers, None)
        answer = http1.AnswerParser(None, streaming=True)
        connection: TlsConnection | None = None
        try:
            async with self._failures(path), asyncio.timeout(self.timeout_s):
                connection = await self._connect()
                connection.write(message)
                await _receive(connection, answer, head_only=True)
            self._refuse_redirect(answer, path)
        except BaseException:
            if connection is not None:
                connection.abort()
            raise
        return HttpsStream(connection, answer, path, self._where)

    async def close(self) -> None:
        self._drop_connection(politely=True)

    # -- one exchange ---------------------------------------------------------------------

    async def _exchange_once_or_twice(self, method: str, path: str, message: bytes) -> Response:
        connection, reused = await self._kept_or_new_connection()
        try:
            return await self._exchange(connection, path, message)
        except _ClosedBeforeAnswer:
            if not reused or method not in RETRIED_METHODS:
                raise
        self._drop_connection(politely=False)
        connection, _ = await self._kept_or_new_connection()
        return await self._exchange(connection, path, message)

    async def _exchange(self, connection: TlsConnection, path: str, message: bytes) -> Response:
        connection.write(message)
        answer = http1.AnswerParser(self.max_body_bytes)
        await _receive(connection, answer, head_only=True)
        # Never follow a redirect: it would carry our request (and the token, or a user's
        # command) to wherever the answer points, another host or scheme included.
        self._refuse_redirect(answer, path)
        await _receive(connection, answer, head_only=False)
        if answer.keep_alive:
            self._idle_since = asyncio.get_running_loop().time()
        else:
            self._drop_connection(politely=True)
        return Response(
            status=answer.status,
            body=answer.body,
            content_type=answer.header(b"content-type"),
            set_cookie=answer.header_values(b"set-cookie"),
        )

    async def _kept_or_new_connection(self) -> tuple[TlsConnection, bool]:
        """The kept-alive connection when it can still carry a request (and whether it was
        kept), else a new one."""
        connection = self._connection
        if connection is not None:
            idle_s = asyncio.get_running_loop().time() - self._idle_since
            if idle_s < KEEPALIVE_SECONDS and connection.idle_and_open():
                return connection, True
            self._drop_connection(politely=True)
        self._connection = await self._connect()
        return self._connection, False

    async def _connect(self) -> TlsConnection:
        """A new connection, its certificate checked against the pin before anything is sent."""
        try:
            connection = await open_tls(
                self._address, self.port, _unverified_tls(), _server_name(self._address)
            )
        except TlsHandshakeFailed as exc:
            # A reset: the TCP connection was up, it is the handshake the gateway broke off.
            reset = " (the connection was reset)" if exc.reset else ""
            raise Unreachable(
                f"unreachable: TLS handshake with {self._where} failed{reset}"
            ) from None
        except OSError as exc:
            raise Unreachable(self._connect_message(exc)) from None
        if self.pin is not None:
            try:
                self.pin.check(connection.peer_certificate, self._where)
            except BaseException:
                connection.abort()
                raise
        return connection

    def _drop_connection(self, *, politely: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if politely:
            connection.close()
        else:
            # At once: a polite close would leave a gateway still sending to us at work.
            connection.abort()

    # -- failures, in the client's words --------------------------------------------------

    @contextlib.asynccontextmanager
    async def _failures(self, path: str) -> AsyncIterator[None]:
        """The connection's failures (a deadline passed included) as EnvoyErrors."""
        try:
            yield
        except TimeoutError:
            raise GatewayTimeout(
                f"timeout: the gateway did not answer {path} within "
                f"{round(self.timeout_s * 1000)} ms"
            ) from None
        except http1.BodyTooLarge:
            limit_mib = self.max_body_bytes / (1024 * 1024)
            raise BadResponse(
                f"bad response from {path}: body larger than {limit_mib:g} MiB"
            ) from None
        except http1.MalformedAnswer:
            raise BadResponse(
                f"bad response from {path}: the gateway broke off its answer "
                "(incomplete or malformed HTTP)"
            ) from None
        except _ClosedBeforeAnswer as exc:
            raise Unreachable(
                f"unreachable: the connection to {self._where} failed during {path} ({exc})"
            ) from None
        except OSError as exc:  # ssl.SSLError included
            raise Unreachable(
                f"unreachable: the connection to {self._where} failed during "
                f"{path} ({type(exc).__name__})"
            ) from None

    def _refuse_redirect(self, answer: http1.AnswerParser, path: str) -> None:
        if not 300 <= answer.status < 400:
            return
        target = urlsplit(answer.header(b"location"))
        # Where it points, without its query: that is where a hostile answer would put a secret.
        shown = f"{target.scheme}://{target.netloc}{target.path}" if target.netloc else target.path
        raise BadResponse(
            f"bad response from {path}: the gateway answered HTTP {answer.status}, a redirect "
            f"to {shown[:200]!r}; gem-envoy follows no redirect from a gateway"
        )

    def _connect_message(self, exc: OSError) -> str:
        if isinstance(exc, ConnectionRefusedError):
            return (
                f"unreachable: connection refused on {self._where}; check the IP and port. A "
                "gateway that answers on port 80 but not 443 runs D5 firmware"
            )
        if isinstance(exc, socket.gaierror):
            return f"unreachable: cannot resolve {self.host}; use the gateway's LAN IP"
        detail = exc.strerror or type(exc).__name__
        return f"unreachable: cannot connect to {self._where} ({detail})"


async def _receive(connection: TlsConnection, answer: http1.AnswerParser, head_only: bool) -> None:
    """Feed the connection's bytes to `answer` until its head (or all of it) has come."""
    while not (answer.head_complete if head_only else answer.complete):
        try:
            more = await connection.read_into(answer.feed)
        except OSError as exc:  # reset, or a TLS record that does not decrypt
            if not answer.received_any:
                raise _ClosedBeforeAnswer(type(exc).__name__) from None
            raise http1.MalformedAnswer(type(exc).__name__) from None
        if more:
            continue
        if not answer.received_any:
            raise _ClosedBeforeAnswer("the gateway closed it before answering")
        answer.feed_eof()


class HttpsStream:
    """The open answer of `HttpsTransport.open_stream` (a `StreamReply`)."""

    def __init__(
        self, connection: TlsConnection, answer: http1.AnswerParser, path: str, where: str
    ) -> None:
        self._connection = connection
        self._answer = answer
        self._path = path
        self._where = where
        self.status = answer.status

    def __repr__(self) -> str:
        return f"HttpsStream({self._where}{self._path}, HTTP {self.status})"

    async def read(self) -> bytes:
        try:
            while True:
                body = self._answer.take_body()
                if body or self._answer.complete:
                    return body
                if not await self._connection.read_into(self._answer.feed):
                    self._answer.feed_eof()
        except (OSError, http1.MalformedAnswer) as exc:
            raise Unreachable(
                f"unreachable: the connection to {self._where} was lost during {self._path} "
                f"({type(exc).__name__})"
            ) from None

    async def close(self) -> None:
        # At once, whatever comes next (a cancellation included): a polite TLS close waits
        # for the gateway, which would go on sending meanwhile.
        self._connection.abort()

"""HTTPS to one gateway: one kept-alive connection, one request at a time, bounded bodies.

The gateway is a small box that freezes when asked for two things at once, so every request
to it goes through one lock and one connection. Its certificate is self-signed, so it is not
verified; given a `CertificatePin`, it is recognised instead, in the handshake of every new
connection, before any request is written. This layer knows nothing of tokens
or endpoints: it moves bytes and turns transport failures into `EnvoyError`s.

The one exception to "one connection": `open_stream`, for `/stream/meter`, whose answer never
ends, holds a second connection of its own (same TLS settings and pin), outside the lock.

It runs on aiohttp: measured side by side against the simulator, a request costs about a
quarter of the CPU it costs on httpx (whose pure-Python HTTP parsing dominated a poll cycle),
and a controller may poll a thousand gateways.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import aiohttp

from gem_envoy.envoy.certificate import CertificateChanged
from gem_envoy.envoy.certificate_pin import CertificatePin
from gem_envoy.envoy.errors import BadResponse, GatewayTimeout, Unreachable
from gem_envoy.envoy.transport_protocol import Response

MAX_BODY_BYTES = 4 * 1024 * 1024
# Longer than any polling interval, so polls every few minutes keep reusing one connection.
KEEPALIVE_SECONDS = 900.0
CHUNK_BYTES = 64 * 1024


@functools.cache
def _unverified_tls() -> ssl.SSLContext:
    """One context for every gateway: a context holds hundreds of KB, and a host may watch
    a thousand gateways."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _redirect_message(path: str, reply: aiohttp.ClientResponse) -> str:
    target = urlsplit(reply.headers.get("Location", ""))
    # Where it points, without its query: that is where a hostile answer would put a secret.
    shown = f"{target.scheme}://{target.netloc}{target.path}" if target.netloc else target.path
    return (
        f"bad response from {path}: the gateway answered HTTP {reply.status}, a redirect to "
        f"{shown[:200]!r}; gem-envoy follows no redirect from a gateway"
    )


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"https://{shown}:{port}"


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
        self._base = base_url(host, port)
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self, *, keepalive: bool = True) -> aiohttp.ClientSession:
        # Made on first use, inside the event loop that will use it.
        tls: ssl.SSLContext | CertificatePin = self.pin or _unverified_tls()
        connector = (
            aiohttp.TCPConnector(limit=1, ssl=tls, keepalive_timeout=KEEPALIVE_SECONDS)
            if keepalive
            else aiohttp.TCPConnector(limit=1, ssl=tls, force_close=True)
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # the auth layer manages the session cookie
            trust_env=False,  # never route LAN traffic through a proxy from the environment
            timeout=aiohttp.ClientTimeout(total=None),  # the deadline is ours, body included
        )

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

    async def open_stream(self, path: str, headers: Mapping[str, str]) -> HttpsStream:
        """GET `path` on a connection of its own, beside the requests (not under their lock),
        for an answer whose body does not end (`/stream/meter`). The same TLS settings and
        pin as every request; the connection and the answer's head must come within
        `timeout_s`, as a request's would; the body has neither deadline nor cap (it is read
        piece by piece, and the reader watches for silence). No redirect is followed."""
        session = self._open_session(keepalive=False)
        try:
            async with self._failures(path), asyncio.timeout(self.timeout_s):
                url = self._base + path
                reply = await session.get(url, headers=dict(headers), allow_redirects=False)
            if 300 <= reply.status < 400:
                _abort(reply)
                raise BadResponse(_redirect_message(path, reply))
        except BaseException:
            await session.close()
            raise
        return HttpsStream(session, reply, path, f"{self.host}:{self.port}")

    async def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Response:
        """One exchange with the gateway, never beside another."""
        async with self._lock:
            if self._session is None:
                self._session = self._open_session()
            try:
                return await self._timed_exchange(self._session, method, path, headers, body)
            except BaseException:
                # A failed exchange may leave a request the gateway is still working on: the
                # connection goes with it, so that no request of ours stays in flight.
                await self._discard_session()
                raise

    async def _timed_exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Response:
        """One exchange under the deadline, its failures in the client's own words."""
        async with self._failures(path), asyncio.timeout(self.timeout_s):
            return await self._exchange(session, method, path, headers, body)

    @contextlib.asynccontextmanager
    async def _failures(self, path: str) -> AsyncIterator[None]:
        """aiohttp's and the socket's failures (a deadline passed included) as EnvoyErrors."""
        try:
            yield
        except TimeoutError:
            raise GatewayTimeout(
                f"timeout: the gateway did not answer {path} within "
                f"{round(self.timeout_s * 1000)} ms"
            ) from None
        except aiohttp.ServerFingerprintMismatch as exc:
            where = f"{self.host}:{self.port}"
            raise CertificateChanged(exc.expected.hex(), exc.got.hex(), where) from None
        except aiohttp.ClientConnectorError as exc:
            raise Unreachable(self._connect_message(exc)) from None
        except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError):
            raise BadResponse(
                f"bad response from {path}: the gateway broke off its answer "
                "(incomplete or malformed HTTP)"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise Unreachable(
                f"unreachable: the connection to {self.host}:{self.port} failed during "
                f"{path} ({type(exc).__name__})"
            ) from None

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Response:
        # Never follow a redirect: it would carry our request (and the token, or a user's
        # command) to wherever the answer points, another host or scheme included.
        url = self._base + path
        async with session.request(
            method, url, headers=dict(headers), data=body, allow_redirects=False
        ) as reply:
            if 300 <= reply.status < 400:
                _abort(reply)
                raise BadResponse(_redirect_message(path, reply))
            try:
                body = await self._read_capped(reply, path)
            except BaseException:
                _abort(reply)
                raise
            return Response(
                status=reply.status,
                body=body,
                content_type=reply.headers.get("Content-Type", ""),
                set_cookie=tuple(reply.headers.getall("Set-Cookie", ())),
            )

    async def _read_capped(self, reply: aiohttp.ClientResponse, path: str) -> bytes:
        if reply.content_length is not None and reply.content_length > self.max_body_bytes:
            raise BadResponse(self._oversized(path))
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BadResponse(self._oversized(path))
            chunks.append(chunk)
        return b"".join(chunks)

    def _oversized(self, path: str) -> str:
        limit_mib = self.max_body_bytes / (1024 * 1024)
        return f"bad response from {path}: body larger than {limit_mib:g} MiB"

    def _connect_message(self, exc: aiohttp.ClientConnectorError) -> str:
        where = f"{self.host}:{self.port}"
        cause = exc.os_error
        if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
            return f"unreachable: TLS handshake with {where} failed"
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"unreachable: connection refused on {where}; check the IP and port. A gateway "
                "that answers on port 80 but not 443 runs D5 firmware"
            )
        if isinstance(cause, socket.gaierror):
            return f"unreachable: cannot resolve {self.host}; use the gateway's LAN IP"
        if isinstance(cause, ssl.SSLError):
            return f"unreachable: TLS handshake with {where} failed"
        if isinstance(cause, ConnectionResetError | ConnectionAbortedError):
            # The TCP connection was up: it is the handshake that the gateway broke off.
            return f"unreachable: TLS handshake with {where} failed (the connection was reset)"
        detail = cause.strerror or type(cause).__name__
        return f"unreachable: cannot connect to {where} ({detail})"

    async def _discard_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def close(self) -> None:
        await self._discard_session()


class HttpsStream:
    """The open answer of `HttpsTransport.open_stream` (a `StreamReply`)."""

    def __init__(
        self, session: aiohttp.ClientSession, reply: aiohttp.ClientResponse, path: str, where: str
    ) -> None:
        self._session = session
        self._reply = reply
        self._path = path
        self._where = where
        self.status = reply.status

    def __repr__(self) -> str:
        return f"HttpsStream({self._where}{self._path}, HTTP {self.status})"

    async def read(self) -> bytes:
        try:
            return await self._reply.content.readany()
        except (aiohttp.ClientError, OSError) as exc:
            raise Unreachable(
                f"unreachable: the connection to {self._where} was lost during {self._path} "
                f"({type(exc).__name__})"
            ) from None

    async def close(self) -> None:
        _abort(self._reply)  # at once, whatever comes next (a cancellation included)
        self._reply.release()
        await self._session.close()


def _abort(reply: aiohttp.ClientResponse) -> None:
    """Drop the connection under a half-read answer at once. A polite TLS close waits for the
    gateway's reply, and a gateway still dripping its body would go on serving us meanwhile."""
    connection = reply.connection
    transport = connection.transport if connection is not None else None
    if transport is not None:
        transport.abort()

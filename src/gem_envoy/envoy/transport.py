"""HTTPS to one gateway: one kept-alive connection, one request at a time, bounded bodies.

The gateway is a small box that freezes when asked for two things at once, so every request
to it goes through one lock and one connection. Its certificate is self-signed, so it is not
verified (the LAN address the user typed is the identity). This layer knows nothing of tokens
or endpoints: it moves bytes and turns transport failures into `EnvoyError`s.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from gem_envoy.envoy.errors import BadResponse, GatewayTimeout, Unreachable

MAX_BODY_BYTES = 4 * 1024 * 1024
# Longer than any polling interval, so polls every few minutes keep reusing one connection.
KEEPALIVE_SECONDS = 900.0


@dataclass(frozen=True, slots=True)
class Response:
    """What the gateway answered: status, the headers we use, and the whole (capped) body."""

    status: int
    body: bytes
    content_type: str
    set_cookie: tuple[str, ...]


def _unverified_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"https://{shown}:{port}"


class Transport:
    """One gateway's HTTPS connection. Requests are serialised; each has a total deadline."""

    def __init__(
        self,
        host: str,
        port: int = 443,
        *,
        timeout_s: float = 10.0,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._lock = asyncio.Lock()
        self._client = httpx.AsyncClient(
            base_url=base_url(host, port),
            verify=_unverified_tls(),
            http1=True,
            http2=False,
            trust_env=False,  # never route LAN traffic through a proxy from the environment
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(
                max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE_SECONDS
            ),
        )

    async def get(self, path: str, headers: Mapping[str, str]) -> Response:
        """GET `path`; the whole exchange, body included, must finish within `timeout_s`."""
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await self._exchange(path, headers)
            except (TimeoutError, httpx.TimeoutException):
                raise GatewayTimeout(
                    f"timeout: the gateway did not answer {path} within "
                    f"{round(self.timeout_s * 1000)} ms"
                ) from None
            except httpx.ConnectError as exc:
                raise Unreachable(self._connect_message(exc)) from None
            except httpx.RemoteProtocolError:
                raise BadResponse(
                    f"bad response from {path}: the gateway broke off its answer "
                    "(incomplete or malformed HTTP)"
                ) from None
            except (httpx.TransportError, ssl.SSLError) as exc:
                raise Unreachable(
                    f"unreachable: the connection to {self.host}:{self.port} failed during "
                    f"{path} ({type(exc).__name__})"
                ) from None
            finally:
                # Session cookies are managed explicitly by the auth layer, never by a jar.
                self._client.cookies.clear()

    async def _exchange(self, path: str, headers: Mapping[str, str]) -> Response:
        async with self._client.stream("GET", path, headers=dict(headers)) as reply:
            body = await self._read_capped(reply, path)
            return Response(
                status=reply.status_code,
                body=body,
                content_type=reply.headers.get("content-type", ""),
                set_cookie=tuple(reply.headers.get_list("set-cookie")),
            )

    async def _read_capped(self, reply: httpx.Response, path: str) -> bytes:
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise BadResponse(self._oversized(path))
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BadResponse(self._oversized(path))
            chunks.append(chunk)
        return b"".join(chunks)

    def _oversized(self, path: str) -> str:
        limit_mib = self.max_body_bytes / (1024 * 1024)
        return f"bad response from {path}: body larger than {limit_mib:g} MiB"

    def _connect_message(self, exc: httpx.ConnectError) -> str:
        where = f"{self.host}:{self.port}"
        causes = _causes(exc)
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return (
                f"unreachable: connection refused on {where}; check the IP and port. A gateway "
                "that answers on port 80 but not 443 runs D5 firmware"
            )
        if any(isinstance(c, socket.gaierror) for c in causes):
            return f"unreachable: cannot resolve {self.host}; use the gateway's LAN IP"
        if any(isinstance(c, ssl.SSLError) for c in causes):
            return f"unreachable: TLS handshake with {where} failed"
        return f"unreachable: cannot connect to {where} ({str(exc).lower() or 'no answer'})"

    async def close(self) -> None:
        await self._client.aclose()


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from: httpx hides the OS error inside."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen

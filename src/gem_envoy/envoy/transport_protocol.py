"""What the client needs from a transport: one request at a time, answered with bytes.

`EnvoyClient` speaks to the gateway only through this. `transport.HttpsTransport` is the real
one (HTTP/1.1 over TLS: `http1`, `tls_bio`); tests that check parsing, authentication or the
poller's request budget hand in an in-memory one instead (`gem_envoy.sim.capture_transport`),
so that they need no socket, no process and no TLS handshake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Response:
    """What the gateway answered: status, the headers we use, and the whole (capped) body."""

    status: int
    body: bytes
    content_type: str
    set_cookie: tuple[str, ...]


class Transport(Protocol):
    """One gateway's connection. Raises `EnvoyError`s for what goes wrong below HTTP."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    async def get(self, path: str, headers: Mapping[str, str]) -> Response:
        """GET `path` (with its query) and the whole answer, whatever its status."""
        ...

    async def put(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """PUT `body` to `path` and the whole answer, whatever its status."""
        ...

    async def post(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """POST `body` to `path` and the whole answer, whatever its status."""
        ...

    async def close(self) -> None: ...


class StreamReply(Protocol):
    """A GET whose body does not end (`/stream/meter`): its status, then its bytes as they
    come, on a connection of its own."""

    @property
    def status(self) -> int: ...

    async def read(self) -> bytes:
        """The next bytes of the body as they arrive; b"" when the gateway ended it. A lost
        connection raises `Unreachable`. No deadline: the caller watches for silence."""
        ...

    async def close(self) -> None:
        """Drop the connection (at once: no goodbye to wait for). Safe to call twice."""
        ...


@runtime_checkable
class StreamingTransport(Transport, Protocol):
    """A transport that can also hold a long-lived GET open beside its requests."""

    async def open_stream(self, path: str, headers: Mapping[str, str]) -> StreamReply:
        """GET `path` on a new connection of its own; returns once the answer's head came
        (whatever its status), or raises the transport's `EnvoyError`s."""
        ...

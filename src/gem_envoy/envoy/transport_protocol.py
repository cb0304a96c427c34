"""What the client needs from a transport: one request at a time, answered with bytes.

`EnvoyClient` speaks to the gateway only through this. `transport.HttpsTransport` is the real
one (aiohttp over TLS); tests that check parsing, authentication or the poller's request
budget hand in an in-memory one instead (`gem_envoy.sim.capture_transport`), so that they need
no socket, no process and no TLS handshake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


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

    async def close(self) -> None: ...

"""A capture folder served from memory: the simulator's replay, without the socket.

`CaptureTransport` is a `Transport` for `EnvoyClient` that answers each request as
`gem-envoy simulate --capture FOLDER` would, because it runs the same code: `CaptureSource`
reads the folder (file names, status-code sidecars, content types) and `Gateway` applies the
gateway's token rules (`/auth/check_jwt` hands out a `sessionId` cookie; a bad token is a 401,
an owner token on an installer endpoint a 403; a missing file a 404). Only the bytes on the
wire are missing, so tests of parsing, authentication and request budgets run in
milliseconds. What sockets do (TLS, timeouts, connection reuse, faults) stays tested against
the real simulator.

This is the one module of sim/ that knows a client type: it is the seam between the two.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from gem_envoy.envoy.transport_protocol import Response

from .auth import INSTALLER, GatewayAuth, SessionStore, TokenIssuer
from .capture import CaptureSource
from .gateway import Gateway
from .http import Request
from .stats import SimStats


class CaptureTransport:
    """Answers `EnvoyClient` from one capture folder, and counts what it was asked."""

    port = 443

    def __init__(self, folder: Path, *, issuer: TokenIssuer | None = None) -> None:
        self.source = CaptureSource(folder)
        self.host = folder.name
        self.auth = GatewayAuth(self.source.serial, issuer or TokenIssuer(), SessionStore())
        # The simulator's own counters: `requests` by path (with its query), `check_jwt`.
        self.stats = SimStats()
        self._gateway = Gateway(self.source, self.auth, self.stats)
        self.closed = False

    @property
    def serial(self) -> str:
        return self.source.serial

    @property
    def requests(self) -> Counter[str]:
        """How often each path was served, 401s, 403s and 404s included."""
        return self.stats.requests

    def mint(self, user: str = INSTALLER, lifetime_s: float = 3600, aud: str | None = None) -> str:
        """A token for this gateway (or for `aud`); a negative lifetime gives an expired one."""
        return self.auth.mint(user, lifetime_s, aud)

    async def get(self, path: str, headers: Mapping[str, str]) -> Response:
        return await self._exchange("GET", path, headers, b"")

    async def put(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        return await self._exchange("PUT", path, headers, body)

    async def post(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """A capture records what reads answered: a POST is answered with the file recorded
        for its path, as a GET would be (the token rules first), and a path without one is
        the gateway's 404. It is counted as a POST."""
        return await self._exchange("POST", path, headers, body, answer_as="GET")

    async def _exchange(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        answer_as: str | None = None,
    ) -> Response:
        # Yield once, as a real exchange does, so that callers overlap as they would.
        await asyncio.sleep(0)
        lowered = {k.lower(): v for k, v in headers.items()}
        request = Request.build(answer_as or method, path, lowered, body)
        self.stats.request_started(request.target, method)
        try:
            answer = self._gateway.respond(request)
        finally:
            self.stats.request_finished()
        self.stats.body_sent(request.path, len(answer.body))
        cookies = tuple(value for name, value in answer.headers if name.lower() == "set-cookie")
        return Response(answer.status, answer.body, answer.content_type or "", cookies)

    async def close(self) -> None:
        # Nothing to release; remembered so that tests can check the client was closed.
        self.closed = True

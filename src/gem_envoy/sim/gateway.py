"""The gateway's request handling: counting, latency, authentication, then a data source.

Every gateway request (``/__sim/*`` never comes here) is counted, delayed by the configured
latency, checked (``/auth/check_jwt``, sessions, bearer tokens, scopes), and answered by the
`EndpointSource` (a simulated plant or a capture).

Under the field latency profile (`latency_profile`) the gateway serves one request at a
time, as the real box does: a gateway-wide lock is held for each request's service time,
which is counted as busy time. A ``/stream/meter`` stream holds the lock only to open (on
the real box another process pushes it); the events it sends afterwards are not serialised
with the other requests and add no busy time.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Protocol

from .auth import GatewayAuth, scope_for
from .http import HTML_TYPE, Exchange, Request, Response
from .latency_profile import FieldLatency
from .stats import SimStats

VALID_TOKEN_BODY = b"<!DOCTYPE html><h2>Valid token.</h2>\n"
_TITLES = {
    401: "401 Authorization Required",
    403: "403 Forbidden",
    404: "404 Not Found",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
}


class EndpointSource(Protocol):
    """Where the gateway's answers come from."""

    @property
    def serial(self) -> str: ...

    def answer(self, request: Request) -> Response | None:
        """The answer to an authorised request, or None when there is no such endpoint."""
        ...


def openresty_error(status: int) -> Response:
    """The small HTML error page openresty answers with."""
    title = _TITLES.get(status, f"{status} Error")
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>openresty</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(status, body.encode(), HTML_TYPE)


class Gateway:
    """The `Handler` of one simulated gateway."""

    def __init__(
        self,
        source: EndpointSource,
        auth: GatewayAuth,
        stats: SimStats,
        latency_s: float = 0.0,
        profile: FieldLatency | None = None,
        latency_scale: float = 1.0,
    ) -> None:
        self.source = source
        self.auth = auth
        self.stats = stats
        self.latency_s = latency_s
        self.profile = profile
        self.latency_scale = latency_scale
        self._serving = asyncio.Lock()

    async def handle(self, request: Request, exchange: Exchange) -> None:
        self.stats.request_started(request.target, request.method)
        exchange.on_body = partial(self.stats.body_sent, request.path)
        try:
            response = await self._serve(request)
            if response.stream is None:
                await exchange.send(response)
                return
            self.stats.stream_opened()
            try:
                await exchange.send(response)
            finally:
                self.stats.stream_closed()
        finally:
            self.stats.request_finished()

    async def _serve(self, request: Request) -> Response:
        """The answer, after the configured delay (see the module's docstring)."""
        if self.profile is None:
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            return self.respond(request)
        async with self._serving:
            service_s = self.profile.service_s(request.path, request.query)
            await asyncio.sleep(service_s * self.latency_scale)
            self.stats.busy(request.path, service_s)
            return self.respond(request)

    def respond(self, request: Request) -> Response:
        if request.path == "/auth/check_jwt":
            return self.check_jwt(request)
        verdict = self.auth.authorize(request, scope_for(request.path))
        if verdict.status != 200:
            return openresty_error(verdict.status)
        return self.source.answer(request) or openresty_error(404)

    def check_jwt(self, request: Request) -> Response:
        """A valid bearer token buys a ``sessionId`` cookie; anything else is a 401."""
        self.stats.check_jwt += 1
        user = self.auth.bearer_user(request)
        if user is None:
            return openresty_error(401)
        session_id = self.auth.sessions.create(user)
        cookie = f"sessionId={session_id}; Secure; HttpOnly; Path=/"
        return Response(200, VALID_TOKEN_BODY, HTML_TYPE, [("set-cookie", cookie)])

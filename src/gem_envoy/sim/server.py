"""`SimServer`: one simulated gateway listening on HTTPS, startable in-process.

    server = await start_simulator(SimOptions(battery=True))
    token = server.mint_token("installer", 3600)
    ... https://127.0.0.1:{server.port}/production.json ...
    await server.close()

Each accepted connection is served by its own task, so requests on several connections are
handled in parallel (nothing is serialised). TLS is started on the accepted socket by the
connection task itself, which lets it count handshakes (and lets a later fault layer act before
or instead of the handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from types import TracebackType

from .auth import GatewayAuth, SessionStore, TokenIssuer
from .capture import CaptureSource
from .certs import make_server_context
from .clock import SimClock
from .control import Control
from .gateway import EndpointSource, Gateway
from .http import Exchange, Handler, Request, close_writer, serve_connection
from .options import SimOptions
from .plant import Plant
from .stats import SimStats
from .synthetic import SyntheticSource

HANDSHAKE_TIMEOUT_S = 10.0
CONTROL_PREFIX = "/__sim/"

HandlerWrapper = Callable[[Handler], Handler]


def make_source(options: SimOptions) -> EndpointSource:
    if options.capture is not None:
        return CaptureSource(options.capture)
    clock = SimClock(options.start_time, options.speed)
    plant = Plant(options.plant_config(), clock.now())
    return SyntheticSource(plant, clock, options.firmware)


class SimServer:
    """A simulated IQ Gateway; make one with `start_simulator`."""

    def __init__(self, options: SimOptions, wrap: HandlerWrapper | None = None) -> None:
        self.options = options
        self.stats = SimStats()
        self.source = make_source(options)
        sessions = SessionStore(options.session_ttl_s, time.monotonic)
        self.auth = GatewayAuth(self.source.serial, options.issuer or TokenIssuer(), sessions)
        self.control = Control(self.stats, self.auth, self.source)
        self.gateway = Gateway(self.source, self.auth, self.stats, options.latency_ms / 1000)
        self._gateway_handler = wrap(self.gateway.handle) if wrap else self.gateway.handle
        self._ssl = options.ssl_context or make_server_context()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def serial(self) -> str:
        return self.source.serial

    @property
    def host(self) -> str:
        return self.options.host

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def plant(self) -> Plant | None:
        """The simulated plant (None when replaying a capture)."""
        return self.source.plant if isinstance(self.source, SyntheticSource) else None

    def mint_token(self, user: str, lifetime_s: int, aud: str | None = None) -> str:
        """A token for this gateway (or for ``aud``), signed by this gateway's issuer."""
        return self.auth.mint(user, lifetime_s, aud)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.options.host, self.options.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> SimServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _route(self, request: Request, exchange: Exchange) -> None:
        """``/__sim/*`` to the control routes; everything else to the (wrapped) gateway."""
        if request.path.startswith(CONTROL_PREFIX):
            await self.control.handle(request, exchange)
        else:
            await self._gateway_handler(request, exchange)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.stats.connections_open += 1
        try:
            await writer.start_tls(self._ssl, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
            self.stats.tls_handshakes += 1
            await serve_connection(reader, writer, self._route, self.options.idle_timeout_s)
        except (ssl.SSLError, OSError, TimeoutError):
            await close_writer(writer)
        except asyncio.CancelledError:
            # Only `close` cancels these tasks. Ending normally spares Python 3.11's stream
            # callback, which reports a cancelled connection task as an error.
            pass
        finally:
            self.stats.connections_open -= 1
            if task is not None:
                self._tasks.discard(task)


async def start_simulator(
    options: SimOptions | None = None, *, wrap: HandlerWrapper | None = None
) -> SimServer:
    """Make a simulated gateway and start listening (``options.port`` 0 = any free port).

    ``wrap`` receives the gateway's handler and returns the handler to serve gateway requests
    with: the hook for a fault layer (``/__sim/*`` requests never pass through it).
    """
    server = SimServer(options or SimOptions(), wrap)
    await server.start()
    return server

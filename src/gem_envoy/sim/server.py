"""`SimServer`: one simulated gateway listening on HTTPS, startable in-process.

    server = await start_simulator(SimOptions(battery=True))
    token = server.mint_token("installer", 3600)
    ... https://127.0.0.1:{server.port}/production.json ...
    await server.close()

Each accepted connection is served by its own task, so requests on several connections are
handled in parallel (nothing is serialised but under the field latency profile: see
`gateway`). TLS is started on the accepted socket by the connection task itself, which lets
it count handshakes, and lets the ``tls`` fault break them.

Faults (see `faults`): the per-request kinds live in `fault_layer`, wrapped around the gateway's
handler; the kinds that act on the port live here. ``tls`` sends garbage instead of a
ServerHello. ``refused`` and ``reboot`` close the listening socket and every open connection at
once, then listen again on the same port when their time is up; ``reboot`` then comes back
having forgotten every session and with lower lifetime counters (synthetic plants only; a
capture replay just forgets its sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Callable
from types import TracebackType

from .auth import GatewayAuth, SessionStore, TokenIssuer
from .capture import CaptureSource
from .certs import make_server_context
from .clock import SimClock
from .cloud import Cloud
from .cloud_server import CloudServer
from .control import Control
from .fault_layer import fault_layer
from .faults import CLOUD_REVERT, OUTAGE_KINDS, Fault, FaultSwitch
from .gateway import EndpointSource, Gateway
from .http import Exchange, Handler, Request, close_writer, serve_connection
from .latency_profile import FieldLatency
from .options import SimOptions
from .plant import Plant
from .stats import SimStats
from .synthetic import SyntheticSource
from .tariff import TariffDocument

HANDSHAKE_TIMEOUT_S = 10.0
TARIFF_PATH = "/admin/lib/tariff"
CONTROL_PREFIX = "/__sim/"
REBOOT_LOSS = (0.01, 0.05)
"""The range of the share of its lifetime counters a rebooted gateway loses."""
_BROKEN_HANDSHAKE = b"\x16\x03\x03\x00\x40" + b"\x00" * 8
"""The start of a TLS handshake record that promises 64 bytes and breaks off after 8."""

log = logging.getLogger(__name__)

HandlerWrapper = Callable[[Handler], Handler]


def field_latency(options: SimOptions) -> FieldLatency | None:
    return FieldLatency(options.latency_seed) if options.latency_profile == "field" else None


def make_source(options: SimOptions) -> EndpointSource:
    if options.capture is not None:
        return CaptureSource(options.capture, options.stream_interval_s)
    clock = SimClock(options.start_time, options.speed)
    plant = Plant(options.plant_config(), clock.now())
    return SyntheticSource(
        plant,
        clock,
        options.firmware,
        stream_interval_s=options.stream_interval_s,
        clock_power=options.clock_power,
        livedata_timeout_s=options.livedata_timeout_s,
        livedata_when_disabled=options.livedata_when_disabled,
    )


class SimServer:
    """A simulated IQ Gateway; make one with `start_simulator`."""

    def __init__(self, options: SimOptions, wrap: HandlerWrapper | None = None) -> None:
        self.options = options
        self.stats = SimStats()
        self.source = make_source(options)
        sessions = SessionStore(options.session_ttl_s, time.monotonic)
        self.auth = GatewayAuth(self.source.serial, options.issuer or TokenIssuer(), sessions)
        self.faults = FaultSwitch(self.stats)
        if isinstance(self.source, SyntheticSource | CaptureSource):
            self.source.revert_delay = self._cloud_revert_delay
        self.control = Control(self.stats, self.auth, self.source, self.faults, self.set_fault)
        self.gateway = Gateway(
            self.source,
            self.auth,
            self.stats,
            options.latency_ms / 1000,
            field_latency(options),
            options.latency_scale,
        )
        handler = fault_layer(self.faults, self.stats, self.gateway.handle)
        self._gateway_handler = wrap(handler) if wrap else handler
        self._ssl = options.ssl_context or make_server_context()
        self.cloud: CloudServer | None = None
        if options.cloud is not None:
            cloud = Cloud(options.cloud, self.auth.issuer, [self.serial], self._revoke_tokens)
            self.cloud = CloudServer(cloud, options.host)
            self.control.cloud = cloud
        self._listener: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._outage: asyncio.Task[None] | None = None
        self._down = False
        """The port is closed by a fault: connections that outlived that are dropped."""
        self._closed = True
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

    def _cloud_revert_delay(self) -> float | None:
        """Seconds until the cloud undoes a storage settings write just taken, or None."""
        fault = self.faults.pick(TARIFF_PATH, (CLOUD_REVERT,))
        return None if fault is None else fault.seconds

    def _revoke_tokens(self) -> None:
        """Enphase revoked every token so far: they and their sessions stop working."""
        self.auth.issuer.revoke_all()
        self.auth.sessions.clear()

    async def start(self) -> None:
        """Listen (the cloud too, if any), then set ``options.fault`` if there is one."""
        self._closed = self._down = False
        if self.cloud is not None and self.options.cloud is not None:
            await self.cloud.start(self.options.cloud.port)
            self.stats.cloud = self.cloud.url
        await self._listen(self.options.port)
        if self.options.fault is not None:
            await self.set_fault(self.options.fault)

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._closed:
            return
        self._closed = True
        await self._end_outage()
        tariff = getattr(self.source, "tariff", None)
        if isinstance(tariff, TariffDocument):
            tariff.cancel()  # no cloud push after the gateway is gone
        if self.cloud is not None:
            await self.cloud.close()
        listener = self._stop_listening()
        await self._drop_connections()  # outright: a gateway that is gone answers nothing
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.wait_closed()

    async def set_fault(self, fault: Fault | None) -> None:
        """Make ``fault`` the active fault, replacing any (None clears it).

        ``refused`` and ``reboot`` close the port at once and drop every open connection; a
        ``/__sim/fault`` request that sets one gets its answer first. ``tls`` on every
        connection drops the open ones too, so that clients must shake hands again.
        """
        await self._end_outage()
        self.faults.set(fault)
        if fault is not None and fault.kind in OUTAGE_KINDS:
            self.stats.faults_applied += 1
            self._down = True
            self._stop_listening()
            await self._drop_connections()
            self._outage = asyncio.create_task(self._come_back(fault))
        elif fault is not None and fault.kind == "tls" and fault.fraction >= 1.0:
            # A gateway whose TLS stack breaks drops the connections it had too; otherwise a
            # kept-alive client would never meet the broken handshake.
            await self._drop_connections()

    async def _come_back(self, fault: Fault) -> None:
        """Wait out an outage, then listen on the same port again.

        `_end_outage` cancels the wait to cut an outage short: the gateway still comes back.
        """
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(fault.lasts_s or 0.0)
        if self._closed:
            return
        if fault.kind == "reboot":
            self._reboot(fault)
        try:
            await self._listen(self.port)
        except OSError as exc:
            log.error("simulator: cannot listen on port %d again: %s", self.port, exc)
            return
        self._down = False
        if self.faults.active is fault:
            self.faults.clear()

    def _reboot(self, fault: Fault) -> None:
        self.auth.sessions.clear()
        if isinstance(self.source, SyntheticSource):
            self.source.reboot(random.Random(fault.seed).uniform(*REBOOT_LOSS))

    async def _end_outage(self) -> None:
        task, self._outage = self._outage, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _listen(self, port: int) -> None:
        self._listener = await asyncio.start_server(
            self._on_connect, self.options.host, port, reuse_address=True
        )
        self.port = self._listener.sockets[0].getsockname()[1]

    def _stop_listening(self) -> asyncio.Server | None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        return listener

    async def _drop_connections(self) -> None:
        """Drop every open connection but the caller's own, at once.

        A TLS goodbye would leave the socket open until the client answers it, and a client
        idling on a kept-alive connection would not notice. Cancelling the connection's task
        is not enough either: Python 3.11's `asyncio.wait_for` can lose a cancellation that
        meets a completed read, and the connection then goes on serving a client that keeps
        it busy (the likely cause of a test that waited 2 minutes on `close`, while its
        poller kept reading on a kept-alive connection and no error was ever logged).
        """
        current = asyncio.current_task()
        dropped = {
            task: writer for task, writer in self._connections.items() if task is not current
        }
        for task, writer in dropped.items():
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*dropped, return_exceptions=True)

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
        if self._down:  # a request on a connection that outlived the closing of the port
            exchange.abort()
        elif request.path.startswith(CONTROL_PREFIX):
            await self.control.handle(request, exchange)
            if self._down:  # this answer began an outage: the connection goes with the port
                exchange.abort()  # (the small answer is already in the kernel's hands)
        else:
            await self._gateway_handler(request, exchange)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        self.stats.connections_open += 1
        try:
            if self.faults.pick(None, ("tls",)) is not None:
                await _break_handshake(reader, writer)
                return
            await writer.start_tls(self._ssl, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
            self.stats.tls_handshakes += 1
            await serve_connection(reader, writer, self._route, self.options.idle_timeout_s)
        except (ssl.SSLError, OSError, TimeoutError):
            await close_writer(writer)
        except asyncio.CancelledError:
            # Only `close` and outages cancel these tasks. Ending normally spares Python 3.11's
            # stream callback, which reports a cancelled connection task as an error.
            pass
        finally:
            self.stats.connections_open -= 1
            if task is not None:
                self._connections.pop(task, None)


async def _break_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the ClientHello, answer with a broken record, hang up."""
    with contextlib.suppress(TimeoutError, OSError):
        await asyncio.wait_for(reader.read(65536), HANDSHAKE_TIMEOUT_S)
        writer.write(_BROKEN_HANDSHAKE)
        await writer.drain()
    await close_writer(writer)


async def start_simulator(
    options: SimOptions | None = None, *, wrap: HandlerWrapper | None = None
) -> SimServer:
    """Make a simulated gateway and start listening (``options.port`` 0 = any free port).

    ``wrap`` receives the gateway's handler (behind the fault layer) and returns the handler to
    serve gateway requests with (``/__sim/*`` requests never pass through it).
    """
    server = SimServer(options or SimOptions(), wrap)
    await server.start()
    return server

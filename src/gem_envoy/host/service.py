"""The host as a running service: store, supervisor and REST API in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from gem_envoy import __version__
from gem_envoy.host.api import ApiContext, create_app
from gem_envoy.host.api.allowed_hosts import AllowedHosts, AllowedHostsMiddleware
from gem_envoy.host.bridges.mqtt import MqttBridge
from gem_envoy.host.bridges.mqtt_options import MqttOptions
from gem_envoy.host.contract import DriverRegistry
from gem_envoy.host.device_service import DeviceService
from gem_envoy.host.events import EventHub
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
ROLLUP_EVERY_S = 300.0


@dataclass(frozen=True)
class ServeOptions:
    """How the API faces the network (`gem-envoy run` and `demo` options)."""

    # Host names the API answers to besides its listen address and localhost.
    allowed_hosts: tuple[str, ...] = ()
    # The reverse proxies whose X-Forwarded-For names the client (comma-separated addresses
    # or networks); None trusts nobody's, so a client cannot choose its own address.
    forwarded_allow_ips: str | None = None
    # The MQTT broker to publish to (and take commands from); None: no MQTT.
    mqtt: MqttOptions | None = None


@dataclass
class Host:
    store: Store
    supervisor: Supervisor
    events: EventHub

    @property
    def devices(self) -> DeviceService:
        """Changes to devices and zones, each reloading the device's driver at once."""
        return DeviceService(self.store, self.supervisor.drivers, self.supervisor.reload)

    @classmethod
    async def open(cls, db_path: Path, drivers: DriverRegistry, *, polling: bool = True) -> Host:
        """Open (or create) the database and its key. Raises KeyFileError / StoreError with a
        clear message when the key is missing, damaged or too widely readable."""
        db_path.parent.mkdir(parents=True, exist_ok=True)
        keyring = KeyRing.load_or_create(db_path)
        store = await Store.open(db_path, keyring)
        events = EventHub()
        return cls(store, Supervisor(store, drivers, events, polling=polling), events)

    async def close(self) -> None:
        await self.supervisor.stop()
        await self.store.close()

    def api_context(self) -> ApiContext:
        return ApiContext(self.store, self.supervisor, self.devices, self.events, __version__)

    async def prune_forever(self) -> None:
        """Housekeeping: fold history into rollups every 5 minutes and, after the pass of
        each hour, prune what retention lets go (raw points only once folded) and expired
        sessions. A pass is bounded batches on the one writer queue: polls go between."""
        last_prune = -math.inf
        while True:
            try:
                started = time.monotonic()
                written = await self.store.roll_up()
                if written:
                    log.debug("rollups: %d buckets in %.1f s", written, time.monotonic() - started)
            except Exception as exc:  # a failed pass resumes from its last batch next time
                log.warning("rollups failed: %s", exc)
            if time.monotonic() - last_prune >= PRUNE_EVERY_S:
                last_prune = time.monotonic()
                await self._prune()
            await asyncio.sleep(ROLLUP_EVERY_S)

    async def _prune(self) -> None:
        try:
            removed = await self.store.prune_history()
            if removed:
                log.info("history: pruned %d points past retention", removed)
            removed = await self.store.prune_rollups()
            if removed:
                log.info("history: pruned %d 5-minute rollups past retention", removed)
            await self.store.prune_sessions()
        except Exception as exc:  # pruning is housekeeping; polling must go on
            log.warning("pruning failed: %s", exc)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process's owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(
    host: Host, listen_host: str, listen_port: int, options: ServeOptions = ServeOptions()
) -> uvicorn.Server:
    allowed = AllowedHosts(listen_host, options.allowed_hosts)
    config = uvicorn.Config(
        AllowedHostsMiddleware(create_app(host.api_context()), allowed),
        host=listen_host,
        port=listen_port,
        log_level="warning",
        access_log=False,  # access lines would carry ?access_token= of the live page
        lifespan="off",
        timeout_graceful_shutdown=3,  # open event streams must not hold up a stop
        # uvicorn would otherwise believe X-Forwarded-For from any local process.
        proxy_headers=options.forwarded_allow_ips is not None,
        forwarded_allow_ips=options.forwarded_allow_ips,
    )
    return _EmbeddedServer(config)


def bound_port(server: uvicorn.Server) -> int:
    sockets = server.servers[0].sockets if server.servers else []
    return int(sockets[0].getsockname()[1]) if sockets else 0


@contextlib.asynccontextmanager
async def serving(
    host: Host, listen_host: str, listen_port: int, options: ServeOptions = ServeOptions()
) -> AsyncIterator[uvicorn.Server]:
    """Run the supervisor and the API until the block exits."""
    await host.supervisor.start()
    server = api_server(host, listen_host, listen_port, options)
    serve_task = asyncio.create_task(server.serve(), name="api")
    prune_task = asyncio.create_task(host.prune_forever(), name="prune")
    watch_task = asyncio.create_task(host.supervisor.watch_store(), name="config-watch")
    tasks = [serve_task, prune_task, watch_task]
    if options.mqtt is not None:
        bridge = MqttBridge(host.store, host.supervisor, host.events, options.mqtt)
        tasks.append(asyncio.create_task(bridge.run(), name="mqtt"))
    try:
        while not server.started:
            if serve_task.done():
                serve_task.result()  # surfaces "address in use" and the like
                raise RuntimeError("the API server stopped before it started")
            await asyncio.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


Announce = Callable[["Host", int], Awaitable[None]]  # the host and the port it listens on


async def serve_until_stopped(
    db_path: Path,
    drivers: DriverRegistry,
    listen_host: str,
    listen_port: int,
    announce: Announce,
    options: ServeOptions = ServeOptions(),
) -> None:
    """The host process (`run` and `demo`): serve until SIGINT or SIGTERM, then close cleanly.
    `announce` runs once the API accepts connections (port 0 = any free port)."""
    host = await Host.open(db_path, drivers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with serving(host, listen_host, listen_port, options) as server:
            await announce(host, bound_port(server))
            await stop.wait()
    finally:
        await host.close()

"""The MQTT bridge: the host's devices and zones on a broker, and commands from it.

It follows the host's `EventHub` (each change the drivers report is published at once,
retained, on its own topic) and reads the store for everything else: the whole retained state
on each (re)connect, one JSON document per device after each poll, and every 30 s what
changed without an event (a device renamed, a zone deleted, a setting edited). It keeps no
copy of the data, only which topics it has put on the broker (to clear those that go away)
and the Home Assistant documents it last sent (to send them again only when they change).

While the broker is away nothing is queued: the bridge stops listening to the hub and
reconnects with backoff; the store holds what happened meanwhile, published on reconnect.
With `MqttOptions.live` (`--mqtt-live`) it watches every device while connected, as an open
page does (`host/watchers.py`), so live power reaches the broker all the time.
Secure attributes never reach the broker, in any topic or document.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from gem_envoy.host.bridges.backoff import Backoff
from gem_envoy.host.bridges.ha_discovery import Discovery, document_text, removals
from gem_envoy.host.bridges.mqtt_commands import CommandGate
from gem_envoy.host.bridges.mqtt_options import MqttOptions
from gem_envoy.host.bridges.payloads import CLEARED, OFFLINE, ONLINE, plain, state_document
from gem_envoy.host.bridges.topics import RESERVED, Topics, level
from gem_envoy.host.events import AttributeChange, EventHub
from gem_envoy.host.redact import LOG_SCRUBBER
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import Attribute, Device, Store, Zone
from gem_envoy.host.supervisor import Supervisor

log = logging.getLogger(__name__)

QOS = 1
RECONCILE_S = 30.0
# A connection that lasted this long proves the broker well: the next reconnect starts fast.
STABLE_S = 30.0
# How long one broker exchange (a publish's acknowledgement) may take before the connection
# is judged dead; the keepalive finds a silent broker within 1.5 x its value.
EXCHANGE_TIMEOUT_S = 10.0
KEEPALIVE_S = 30
MAX_COMMANDS_IN_FLIGHT = 8
# Messages waiting to be read (retained ones at connect, then commands); more are dropped.
MAX_INCOMING = 4096
SYNC_TIMEOUT_S = 10.0
MAX_OUTGOING = 1024  # messages waiting in the client for the socket; more fail the publish


@dataclass
class _Snapshot:
    """One device's attributes and its zones', as the store holds them now."""

    device: dict[str, Attribute]
    zones: list[tuple[Zone, dict[str, Attribute]]] = field(default_factory=list)


def _shown(name: str) -> bool:
    return not is_secure(name) and name not in RESERVED


class MqttBridge:
    def __init__(
        self,
        store: Store,
        supervisor: Supervisor,
        events: EventHub,
        options: MqttOptions,
        *,
        reconcile_s: float = RECONCILE_S,
    ) -> None:
        self._store = store
        self._supervisor = supervisor
        self._events = events
        self.options = options
        self.topics = Topics(options.prefix)
        self._gate = CommandGate(store, supervisor, options.commands)
        self._discovery = (
            Discovery(self.topics, options.discovery_prefix, writes=options.commands == "all")
            if options.discovery_prefix
            else None
        )
        self._backoff = Backoff(options.backoff_first_s, options.backoff_cap_s)
        self._reconcile_s = reconcile_s
        if options.password:
            LOG_SCRUBBER.add({options.password})
        # Topics this process put on the broker, by device id (names, not values).
        self._retained: dict[int, set[str]] = {}
        # Home Assistant documents last sent, by device id, then discovery topic.
        self._documents: dict[int, dict[str, dict[str, object]]] = {}
        # When each device's settings were last published (epoch s, as `updated_at`).
        self._settings_at: dict[int, float] = {}
        self._devices: dict[int, Device] = {}
        self._zones: dict[int, Zone] = {}
        self._lock = asyncio.Lock()  # one publisher of state at a time: no stale overwrite
        self._commands: set[asyncio.Task[None]] = set()
        self._problem: str | None = None
        self.connected = asyncio.Event()  # set while connected and in sync (tests, logs)
        self.connections = 0

    # -- the connection ---------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, publish, follow; reconnect with backoff after any loss. Until cancelled."""
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self._report(exc)
            except Exception as exc:  # a bug, or an unreadable CA file: logged, tried again
                self._report(exc, trace=True)
            finally:
                self.connected.clear()
            if time.monotonic() - started >= STABLE_S:
                self._backoff.reset()
            await asyncio.sleep(self._backoff.next_delay())

    def _report(self, exc: BaseException, *, trace: bool = False) -> None:
        problem = str(exc) or type(exc).__name__
        if problem != self._problem:  # once per distinct cause, not once per attempt
            log.warning(
                "MQTT: %s: %s; reconnecting with backoff",
                self.options.address(),
                problem,
                exc_info=exc if trace else None,
            )
            self._problem = problem

    def _client(self) -> aiomqtt.Client:
        o = self.options
        tls = ssl.create_default_context(cafile=o.ca_file) if o.tls else None
        return aiomqtt.Client(
            o.host,
            o.port,
            username=o.username,
            password=o.password,
            identifier=f"{level(o.prefix)}-{os.urandom(4).hex()}",
            will=aiomqtt.Will(self.topics.status, OFFLINE, qos=QOS, retain=True),
            tls_context=tls,
            timeout=EXCHANGE_TIMEOUT_S,
            keepalive=KEEPALIVE_S,
            max_queued_incoming_messages=MAX_INCOMING,
            max_queued_outgoing_messages=MAX_OUTGOING,
        )

    async def _session(self) -> None:
        async with self._client() as client, self._events.subscribe() as queue:
            # Listening before reading the store: a change made meanwhile is published
            # twice at worst, never lost.
            try:
                await client.publish(self.topics.status, ONLINE, qos=QOS, retain=True)
                left = await self._left_on_broker(client)
                await self._subscribe(client)
                async with self._lock:
                    await self._sync_all(client, full=True)
                    await self._clear_leftovers(client, left)
                self.connections += 1
                self._problem = None
                log.info("MQTT: connected to %s", self.options.address())
                self.connected.set()
                with self._watching():
                    await _until_one_fails(
                        self._follow(client, queue), self._listen(client), self._reconcile(client)
                    )
            except asyncio.CancelledError:
                # Stopping: a clean disconnect sends no last will, so say it ourselves.
                with contextlib.suppress(Exception):
                    await client.publish(
                        self.topics.status, OFFLINE, qos=QOS, retain=True, timeout=2.0
                    )
                raise
            finally:
                for task in self._commands:
                    task.cancel()

    def _watching(self) -> contextlib.AbstractContextManager[None]:
        """With `live`, the bridge watches every device while connected (nobody reads the
        broker's values while it is away)."""
        if self.options.live:
            return self._supervisor.watchers.watching()
        return contextlib.nullcontext()

    async def _left_on_broker(self, client: aiomqtt.Client) -> set[str]:
        """The retained topics of ours the broker holds, from this process or an earlier
        one (a device deleted while the host was stopped): read until a marker we send
        after subscribing comes back, since a broker sends retained messages first."""
        filters = [f"{self.topics.prefix}/#"]
        if self._discovery is not None:
            filters.append(f"{self._discovery.prefix}/device/+/config")
        marker = f"{self.topics.prefix}/status/sync"
        found: set[str] = set()
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=QOS)
        await client.publish(marker, b"", qos=QOS)
        try:
            async with asyncio.timeout(SYNC_TIMEOUT_S):
                async for message in client.messages:
                    if message.topic.value == marker:
                        break
                    if message.retain:
                        found.add(message.topic.value)
        except TimeoutError:
            log.debug("MQTT: no end to the retained messages; leftovers stay")
            found.clear()
        for topic_filter in filters:
            await client.unsubscribe(topic_filter)
        return found

    async def _clear_leftovers(self, client: aiomqtt.Client, found: set[str]) -> None:
        """Clear what `found` holds that is ours and no longer wanted."""
        kept = {self.topics.status}.union(*self._retained.values())
        for documents in self._documents.values():
            kept |= documents.keys()
        ours = (
            f"{self._discovery.prefix}/device/{self._discovery.id_base}_"
            if self._discovery
            else None
        )
        for topic in found - kept:
            if not topic.startswith(f"{self.topics.prefix}/") and not (
                ours and topic.startswith(ours)
            ):
                continue  # another program's discovery document
            log.info("MQTT: clearing %s (gone from this host)", topic)
            await client.publish(topic, CLEARED, qos=QOS, retain=True)

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        if self.options.commands != "off":
            await client.subscribe(self.topics.commands, qos=QOS)
        if self._discovery is not None:
            await client.subscribe(f"{self._discovery.prefix}/status", qos=QOS)

    async def _put(
        self, client: aiomqtt.Client, device_id: int, topic: str, payload: bytes
    ) -> None:
        """Publish retained, and remember the topic (or forget it, when cleared)."""
        await client.publish(topic, payload, qos=QOS, retain=True)
        topics = self._retained.setdefault(device_id, set())
        if payload == CLEARED:
            topics.discard(topic)
        else:
            topics.add(topic)

    # -- what the store holds ---------------------------------------------------------------

    async def _refresh_names(self) -> None:
        self._devices = {d.id: d for d in await self._store.list_devices()}
        self._zones = {z.id: z for z in await self._store.list_zones()}

    async def _device(self, device_id: int) -> Device | None:
        if device_id not in self._devices:
            await self._refresh_names()
        return self._devices.get(device_id)

    async def _zone(self, zone_id: int) -> Zone | None:
        if zone_id not in self._zones:
            await self._refresh_names()
        return self._zones.get(zone_id)

    async def _read(self, device: Device) -> _Snapshot:
        snapshot = _Snapshot(await self._store.get_attributes("device", device.id))
        for zone in sorted(self._zones.values(), key=lambda z: z.id):
            if zone.device == device.id:
                snapshot.zones.append((zone, await self._store.get_attributes("zone", zone.id)))
        return snapshot

    def _wanted(self, device: Device, snapshot: _Snapshot) -> dict[str, bytes]:
        """Every retained topic of one device, with its payload, from the store."""
        t = self.topics
        wanted = {
            t.attribute(device.name, name): plain(a.value)
            for name, a in snapshot.device.items()
            if _shown(name)
        }
        for zone, values in snapshot.zones:
            for name, a in values.items():
                if not is_secure(name):
                    wanted[t.zone_attribute(device.name, zone.name, name)] = plain(a.value)
        wanted[t.availability(device.name)] = self._availability(device, snapshot)
        wanted[t.state(device.name)] = self._state(snapshot)
        return wanted

    @staticmethod
    def _availability(device: Device, snapshot: _Snapshot) -> bytes:
        online = snapshot.device.get("online")
        # A disabled device is not polled: its last `online` no longer says anything.
        return ONLINE if device.enabled and online is not None and online.value is True else OFFLINE

    @staticmethod
    def _state(snapshot: _Snapshot) -> bytes:
        return state_document(
            {n: a.value for n, a in snapshot.device.items() if _shown(n)},
            {
                zone.name: {n: a.value for n, a in values.items() if not is_secure(n)}
                for zone, values in snapshot.zones
            },
        )

    # -- keeping the broker in line with the store ------------------------------------------

    async def _sync_all(self, client: aiomqtt.Client, *, full: bool) -> None:
        """Every device as the store holds it; `full` republishes every topic (a new
        connection: the broker may have lost them), otherwise only what changed unseen."""
        await self._refresh_names()
        for device_id in set(self._retained) | set(self._documents):
            if device_id not in self._devices:
                await self._forget(client, device_id)
        for device in list(self._devices.values()):
            await self._sync_device(client, device, full=full)

    async def _sync_device(self, client: aiomqtt.Client, device: Device, *, full: bool) -> None:
        read_at = time.time()
        snapshot = await self._read(device)
        wanted = self._wanted(device, snapshot)
        known = self._retained.get(device.id, set())
        for topic in known - wanted.keys():
            await self._put(client, device.id, topic, CLEARED)
        for topic, payload in wanted.items():
            if full or topic not in known or topic == self.topics.availability(device.name):
                await self._put(client, device.id, topic, payload)
        if not full:
            await self._publish_settings(client, device, snapshot)
        self._settings_at[device.id] = read_at
        await self._send_discovery(client, device, snapshot, force=full)

    async def _publish_settings(
        self, client: aiomqtt.Client, device: Device, snapshot: _Snapshot
    ) -> None:
        """Settings a person changed (no event tells of those) since the last look: the
        attributes the driver takes, not those it reports (their events published them)."""
        driver = self._supervisor.drivers.get(device.driver)
        if driver is None:
            return
        meta = driver.metadata()
        settings = {spec.name for spec in (*meta.required, *meta.optional)}
        since = self._settings_at.get(device.id, 0.0)
        for name, attribute in snapshot.device.items():
            if name in settings and attribute.updated_at > since and _shown(name):
                topic = self.topics.attribute(device.name, name)
                await self._put(client, device.id, topic, plain(attribute.value))

    async def _forget(self, client: aiomqtt.Client, device_id: int) -> None:
        """A device deleted: its topics and Home Assistant devices go too."""
        for topic in self._retained.pop(device_id, set()):
            await client.publish(topic, CLEARED, qos=QOS, retain=True)
        for topic in self._documents.pop(device_id, {}):
            await client.publish(topic, CLEARED, qos=QOS, retain=True)
        self._settings_at.pop(device_id, None)

    async def _send_discovery(
        self, client: aiomqtt.Client, device: Device, snapshot: _Snapshot, *, force: bool
    ) -> None:
        d = self._discovery
        driver = self._supervisor.drivers.get(device.driver)
        if d is None or driver is None:
            return
        meta = driver.metadata()
        documents = {
            d.topic(d.device_id(device)): d.device_document(
                device, meta, driver.commands(), snapshot.device.keys()
            )
        }
        for zone, values in snapshot.zones:
            documents[d.topic(d.zone_id(device, zone))] = d.zone_document(
                device, zone, meta, values.keys()
            )
        sent = self._documents.setdefault(device.id, {})
        for topic in set(sent) - documents.keys():
            await client.publish(topic, CLEARED, qos=QOS, retain=True)
            del sent[topic]
        for topic, document in documents.items():
            before = sent.get(topic)
            if before == document and not force:
                continue
            payload = removals(before, document) if before else document
            await client.publish(topic, document_text(payload), qos=QOS, retain=True)
            sent[topic] = document

    # -- the three loops of a connection ----------------------------------------------------

    async def _follow(self, client: aiomqtt.Client, queue: asyncio.Queue[AttributeChange]) -> None:
        while True:
            if queue.full():
                # The hub dropped changes we did not read in time; the store has them all.
                while not queue.empty():
                    queue.get_nowait()
                async with self._lock:
                    await self._sync_all(client, full=True)
                continue
            change = await queue.get()
            async with self._lock:
                await self._publish_change(client, change)

    async def _publish_change(self, client: aiomqtt.Client, change: AttributeChange) -> None:
        t = self.topics
        if change.target_type == "zone":
            zone = await self._zone(change.target_id)
            device = await self._device(zone.device) if zone else None
            if zone is None or device is None:
                return
            for name, value in change.values.items():
                if not is_secure(name):
                    topic = t.zone_attribute(device.name, zone.name, name)
                    await self._put(client, device.id, topic, plain(value))
            return
        device = await self._device(change.target_id)
        if device is None:
            return
        for name, value in change.values.items():
            if _shown(name):
                await self._put(client, device.id, t.attribute(device.name, name), plain(value))
        if "online" in change.values:
            available = ONLINE if change.values["online"] is True and device.enabled else OFFLINE
            await self._put(client, device.id, t.availability(device.name), available)
        # The host writes health after each poll: the poll's values are all stored by then.
        if "last_poll_ms" in change.values or "online" in change.values:
            snapshot = await self._read(device)
            await self._put(client, device.id, t.state(device.name), self._state(snapshot))
            await self._send_discovery(client, device, snapshot, force=False)

    async def _reconcile(self, client: aiomqtt.Client) -> None:
        while True:
            await asyncio.sleep(self._reconcile_s)
            async with self._lock:
                await self._sync_all(client, full=False)

    async def _listen(self, client: aiomqtt.Client) -> None:
        discovery_status = f"{self._discovery.prefix}/status" if self._discovery else None
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if topic == discovery_status:
                # Home Assistant (re)started and lost what it knew: tell it again. Its
                # retained "online" from before our connection needs nothing: we just did.
                if payload == b"online" and not message.retain:
                    log.info("MQTT: Home Assistant is online: sending discovery again")
                    async with self._lock:
                        await self._send_all_discovery(client)
                continue
            device_level = self.topics.commanded_device(topic)
            # A retained command would run again at every reconnect: never run one.
            if device_level is not None and not message.retain:
                await self._start_command(client, device_level, payload)

    async def _send_all_discovery(self, client: aiomqtt.Client) -> None:
        await self._refresh_names()
        for device in list(self._devices.values()):
            await self._send_discovery(client, device, await self._read(device), force=True)

    # -- commands ---------------------------------------------------------------------------

    async def _start_command(
        self, client: aiomqtt.Client, device_level: str, payload: bytes
    ) -> None:
        device = self._by_level(device_level)
        if device is None:
            await self._refresh_names()
            device = self._by_level(device_level)
        result = self.topics.result(device_level)
        if device is None:
            answer = {"ok": False, "error": f"there is no device {device_level!r}"}
            await client.publish(result, json.dumps(answer), qos=QOS)
            return
        if len(self._commands) >= MAX_COMMANDS_IN_FLIGHT:
            answer = {"ok": False, "error": "too many commands in progress; try again later"}
            await client.publish(result, json.dumps(answer), qos=QOS)
            return
        task = asyncio.create_task(self._command(client, device, payload), name="mqtt-command")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    def _by_level(self, device_level: str) -> Device | None:
        return next((d for d in self._devices.values() if level(d.name) == device_level), None)

    async def _command(self, client: aiomqtt.Client, device: Device, payload: bytes) -> None:
        answer = await self._gate.answer(device, payload)
        try:
            text = json.dumps(answer, allow_nan=False)
            await client.publish(self.topics.result(device.name), text, qos=QOS)
        except aiomqtt.MqttError as exc:  # the connection went; its loop reconnects
            log.debug("MQTT: command answer not sent: %s", exc)


async def _until_one_fails(*loops: Coroutine[Any, Any, None]) -> None:
    """Run `loops` together until one ends (by failing): cancel the others, raise its error."""
    tasks = {asyncio.create_task(loop) for loop in loops}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancelled(tasks)
    for task in done:
        task.result()


async def _cancelled(tasks: set[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait for them to end. Python 3.11's wait_for (under aiomqtt's
    publish) can swallow a cancellation that meets its result: cancel again until they end."""
    pending = tasks
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)

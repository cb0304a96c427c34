"""The MQTT bridge: the host's devices and zones on a broker, and commands from it.

It follows the host's `EventHub` (each change the drivers report is published retained, on
its own topic: at once when the broker keeps up, else with the others pending, each topic's
latest value once; see `pending.py`) and reads the store for everything else: the whole
retained state on each (re)connect, one JSON document per device after each poll, and every
30 s what changed without an event (a device renamed, a zone deleted, a setting edited). It keeps no
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
import math
import os
import socket
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
from gem_envoy.host.bridges.pending import Batch, PendingChanges
from gem_envoy.host.bridges.topics import RESERVED, Topics, level
from gem_envoy.host.events import AttributeChange, EventHub
from gem_envoy.host.redact import LOG_SCRUBBER
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import Attribute, Device, Store, Zone
from gem_envoy.host.supervisor import Supervisor
from gem_envoy.host.types import AttributeValue

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
# Publishes awaiting their acknowledgement at once: no limit in the client (paho's default,
# 20, would hold a slice back, and costs a walk of all pending publishes per acknowledgement);
# the bridge bounds them itself by publishing in slices.
MAX_INFLIGHT = 0
# Messages published together at most: aiomqtt's bookkeeping costs each publish a walk over
# all those pending, so a few hundred at once pay, thousands would not.
PUBLISH_SLICE = 200
# After the hub dropped changes, the devices whose attributes the store shows changed since
# this long before the last change read are published again (the store's `updated_at` is
# stamped before the change is told, so a little earlier than the change's `at`).
CATCH_UP_MARGIN_S = 1.0


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
        client = aiomqtt.Client(
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
            max_inflight_messages=MAX_INFLIGHT,
            # A slice's publishes go out as written, not held for the broker's ACK of
            # the last segment (Nagle), which its delayed ACKs make tens of ms.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # aiomqtt warns, per publish, past 10 pending: a slice of ours is not a problem.
        client.pending_calls_threshold = MAX_OUTGOING
        return client

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
        await self._put_all(client, device_id, {topic: payload})

    async def _put_many(
        self, client: aiomqtt.Client, messages: dict[int, dict[str, bytes]]
    ) -> None:
        """`_put_all` for several devices' messages (by device id) at once."""
        flat = {
            topic: p
            for device_messages in messages.values()
            for topic, p in device_messages.items()
        }
        await _published(client, flat)
        for device_id, device_messages in messages.items():
            self._remember(device_id, device_messages)

    async def _put_all(
        self, client: aiomqtt.Client, device_id: int, messages: dict[str, bytes]
    ) -> None:
        """Publish `messages` (topic: payload) retained, all at once: one round trip to the
        broker rather than one per message. Their topics differ, and the client sends them
        in the order given; the caller awaits them all before its next publish, so a topic's
        messages still reach the broker in order."""
        await _published(client, messages)
        self._remember(device_id, messages)

    def _remember(self, device_id: int, messages: dict[str, bytes]) -> None:
        topics = self._retained.setdefault(device_id, set())
        for topic, payload in messages.items():
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

    async def _read(self, device: Device) -> _Snapshot | None:
        """The device and its zones, in one read of the store (one trip to its reader);
        None if it was deleted meanwhile (the reconcile loop clears its topics)."""
        return (await self._read_all([device])).get(device.id)

    async def _read_all(self, devices: list[Device]) -> dict[int, _Snapshot]:
        """Several devices and their zones in one read; a device deleted meanwhile is left
        out (its zones too), a zone deleted meanwhile only from its device's snapshot."""
        wanted = {d.id for d in devices}
        zones = sorted((z for z in self._zones.values() if z.device in wanted), key=lambda z: z.id)
        targets = [("device", d.id) for d in devices] + [("zone", z.id) for z in zones]
        found = await self._store.get_attributes_of(targets)
        snapshots = {
            d.id: _Snapshot(found[("device", d.id)]) for d in devices if ("device", d.id) in found
        }
        for zone in zones:
            snapshot = snapshots.get(zone.device)
            if snapshot is not None and ("zone", zone.id) in found:
                snapshot.zones.append((zone, found[("zone", zone.id)]))
        return snapshots

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
        devices = list(self._devices.values())
        read_at = time.time()
        snapshots = await self._read_all(devices)
        await self._sync_devices(client, devices, snapshots, read_at, full=full)

    async def _catch_up(self, client: aiomqtt.Client, dropped_after: float) -> None:
        """After the hub dropped changes: publish again, in full, only the devices whose
        attributes (or zones') the store shows changed since the last change read. A device
        renamed, added or deleted meanwhile is the reconcile loop's, as ever."""
        await self._refresh_names()
        since = dropped_after - CATCH_UP_MARGIN_S
        devices = list(self._devices.values())
        read_at = time.time()
        snapshots = await self._read_all(devices)
        changed = {i: s for i, s in snapshots.items() if _changed_since(s, since)}
        await self._sync_devices(client, devices, changed, read_at, full=True)
        log.debug("MQTT: changes dropped under load; %d devices published again", len(changed))

    async def _sync_devices(
        self,
        client: aiomqtt.Client,
        devices: list[Device],
        snapshots: dict[int, _Snapshot],
        read_at: float,
        *,
        full: bool,
    ) -> None:
        """The devices of `snapshots` (read at `read_at`): their topics in one publish (not
        one round trip per device), then their settings and Home Assistant documents."""
        synced = [d for d in devices if d.id in snapshots]
        messages = {d.id: self._sync_messages(d, snapshots[d.id], full=full) for d in synced}
        if not full:  # a full sync has them all already
            for device in synced:
                messages[device.id] |= self._settings_messages(device, snapshots[device.id])
        await self._put_many(client, messages)
        for device in synced:
            self._settings_at[device.id] = read_at
            await self._send_discovery(client, device, snapshots[device.id], force=full)

    def _sync_messages(
        self, device: Device, snapshot: _Snapshot, *, full: bool
    ) -> dict[str, bytes]:
        """One device's topics to publish: all with `full`, else those new to the broker
        and its availability; those that went away, cleared."""
        wanted = self._wanted(device, snapshot)
        known = self._retained.get(device.id, set())
        messages = dict.fromkeys(known - wanted.keys(), CLEARED)
        for topic, payload in wanted.items():
            if full or topic not in known or topic == self.topics.availability(device.name):
                messages[topic] = payload
        return messages

    def _settings_messages(self, device: Device, snapshot: _Snapshot) -> dict[str, bytes]:
        """Settings a person changed (no event tells of those) since the last look: the
        attributes the driver takes, not those it reports (their events published them)."""
        driver = self._supervisor.drivers.get(device.driver)
        if driver is None:
            return {}
        meta = driver.metadata()
        settings = {spec.name for spec in (*meta.required, *meta.optional)}
        since = self._settings_at.get(device.id, 0.0)
        return {
            self.topics.attribute(device.name, name): plain(attribute.value)
            for name, attribute in snapshot.device.items()
            if name in settings and attribute.updated_at > since and _shown(name)
        }

    async def _forget(self, client: aiomqtt.Client, device_id: int) -> None:
        """A device deleted: its topics and Home Assistant devices go too."""
        topics = [*self._retained.pop(device_id, set()), *self._documents.pop(device_id, {})]
        await _published(client, dict.fromkeys(topics, CLEARED))
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
        messages = dict.fromkeys(set(sent) - documents.keys(), CLEARED)
        for topic, document in documents.items():
            before = sent.get(topic)
            if before != document or force:
                payload = removals(before, document) if before else document
                messages[topic] = document_text(payload)
        await _published(client, messages)
        for topic in set(sent) - documents.keys():
            del sent[topic]
        sent.update((topic, documents[topic]) for topic in messages if topic in documents)

    # -- the three loops of a connection ----------------------------------------------------

    async def _follow(self, client: aiomqtt.Client, queue: asyncio.Queue[AttributeChange]) -> None:
        """Read the hub's changes as they come, and publish what is pending whenever the
        last publish is done: under load, one publish of many changes, not one per change."""
        pending = PendingChanges()
        reading = asyncio.create_task(pending.read(queue), name="mqtt-hub-reader")
        try:
            while True:
                batch = await pending.take()
                async with self._lock:
                    await self._publish_batch(client, batch)
                    if pending.dropped_after is not None:
                        # The hub dropped changes we did not read in time; the store has
                        # them all: publish again the devices changed since the last read.
                        since, pending.dropped_after = pending.dropped_after, None
                        await self._catch_up(client, since)
        finally:
            await _cancelled({reading})

    async def _publish_batch(self, client: aiomqtt.Client, batch: Batch) -> None:
        messages: dict[int, dict[str, bytes]] = {}
        for (target_type, target_id), values in batch.values.items():
            found = await self._changed_messages(target_type, target_id, values)
            if found is not None:
                messages.setdefault(found[0], {}).update(found[1])
        # The host writes health after each poll: the poll's values are all stored by then.
        devices = [d for d in [await self._device(i) for i in batch.states] if d is not None]
        snapshots = await self._read_all(devices) if devices else {}
        for device in devices:
            if device.id in snapshots:
                state = self._state(snapshots[device.id])
                messages.setdefault(device.id, {})[self.topics.state(device.name)] = state
        await self._put_many(client, messages)
        for device in devices:
            if device.id in snapshots:
                await self._send_discovery(client, device, snapshots[device.id], force=False)

    async def _changed_messages(
        self, target_type: str, target_id: int, values: dict[str, AttributeValue | None]
    ) -> tuple[int, dict[str, bytes]] | None:
        """The topics one change sets, by its device's id; None if its target is gone."""
        t = self.topics
        if target_type == "zone":
            zone = await self._zone(target_id)
            device = await self._device(zone.device) if zone else None
            if zone is None or device is None:
                return None
            zone_messages = {
                t.zone_attribute(device.name, zone.name, name): plain(value)
                for name, value in values.items()
                if not is_secure(name)
            }
            return device.id, zone_messages
        device = await self._device(target_id)
        if device is None:
            return None
        messages = {
            t.attribute(device.name, name): plain(value)
            for name, value in values.items()
            if _shown(name)
        }
        if "online" in values:
            available = ONLINE if values["online"] is True and device.enabled else OFFLINE
            messages[t.availability(device.name)] = available
        return device.id, messages

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
        snapshots = await self._read_all(list(self._devices.values()))
        for device_id, snapshot in snapshots.items():
            await self._send_discovery(client, self._devices[device_id], snapshot, force=True)

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


async def _published(client: aiomqtt.Client, messages: dict[str, bytes]) -> None:
    """Publish `messages` retained, together, and wait for every acknowledgement. The first
    failure is raised; the others are let go (the connection is lost, or being lost)."""
    items = list(messages.items())
    # In slices the client's outgoing queue holds (more would fail the publish).
    for first in range(0, len(items), PUBLISH_SLICE):
        await _published_slice(client, items[first : first + PUBLISH_SLICE])


async def _published_slice(client: aiomqtt.Client, items: list[tuple[str, bytes]]) -> None:
    # One deadline for the slice, not one timer (and task) per message.
    sends = [
        client.publish(topic, payload, qos=QOS, retain=True, timeout=math.inf)
        for topic, payload in items
    ]
    try:
        async with asyncio.timeout(EXCHANGE_TIMEOUT_S):
            outcomes = await asyncio.gather(*sends, return_exceptions=True)
    except TimeoutError:
        raise aiomqtt.MqttError("publishing timed out") from None
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def _changed_since(snapshot: _Snapshot, since: float) -> bool:
    attributes = [*snapshot.device.values()]
    for _, values in snapshot.zones:
        attributes.extend(values.values())
    return any(a.updated_at >= since for a in attributes)


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

"""The bridge against a real broker with the real driver polling a simulated gateway set up
as the demo does: the topics and their retained values match the store, before and after the
broker is killed and restarted; secrets never reach it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gem_envoy.cli.demo import add_inverter_zones, point_device_at
from gem_envoy.host.bridges.payloads import plain
from gem_envoy.host.redact import secret_texts
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.service import Host
from gem_envoy.sim import SimServer
from tests.eventually import eventually
from tests.host.bridges.conftest import bridged, options_for
from tests.mqtt_broker import Broker, Recorder, recording

PREFIX = "gem-envoy"


@pytest.fixture
def sim(frozen_battery_sim: SimServer) -> SimServer:
    return frozen_battery_sim


async def demo_device(host: Host, sim: SimServer) -> int:
    """The demo's device and zones, polled every 5 s."""
    device_id = await point_device_at(host.devices, sim)
    await host.devices.update(device_id, attributes={"polling_interval": 5000})
    await eventually(lambda: _online(host, device_id), 30, "the device's first poll")
    assert await add_inverter_zones(host, device_id) == (3, 3)
    return device_id


async def _online(host: Host, device_id: int) -> bool:
    online = (await host.store.get_attributes("device", device_id)).get("online")
    return online is not None and online.value is True


async def expected(host: Host) -> dict[str, bytes]:
    """The retained state the broker should hold, worked out from the store alone."""
    topics: dict[str, bytes] = {f"{PREFIX}/status": b"online"}
    for device in await host.store.list_devices():
        base = f"{PREFIX}/{device.name}"
        values = {
            name: a.value
            for name, a in (await host.store.get_attributes("device", device.id)).items()
            if not is_secure(name)
        }
        topics |= {f"{base}/{name}": plain(value) for name, value in values.items()}
        topics[f"{base}/availability"] = b"online" if values.get("online") is True else b"offline"
        zones = {}
        for zone in await host.store.list_zones(device.id):
            zone_values = {
                name: a.value
                for name, a in (await host.store.get_attributes("zone", zone.id)).items()
            }
            zones[zone.name] = zone_values
            level = zone.name.replace(" ", "_")
            topics |= {
                f"{base}/zone/{level}/{name}": plain(value) for name, value in zone_values.items()
            }
        topics[f"{base}/state"] = json.dumps({**values, "zones": zones}, sort_keys=True).encode()
    # MQTT keeps no empty retained message: an empty text (no error) clears its topic.
    return {topic: payload for topic, payload in topics.items() if payload}


def broker_state(seen: Recorder) -> dict[str, bytes]:
    return {t: p for t, p in seen.latest.items() if t.startswith(f"{PREFIX}/")}


async def matches_store(host: Host, seen: Recorder) -> bool:
    return broker_state(seen) == await expected(host)


async def test_every_attribute_is_retained_on_its_topic_as_the_store_holds_it(
    enphase_host: Host, sim: SimServer, broker: Broker
) -> None:
    device_id = await demo_device(enphase_host, sim)
    async with bridged(enphase_host, options_for(broker, discovery_prefix=None)):
        await eventually(lambda: _zones_published(enphase_host), 20, "the zones' first values")
        async with recording(broker.port, f"{PREFIX}/#") as (live, _):
            await eventually(lambda: matches_store(enphase_host, live), 20, "broker == store")
        # A client that comes later gets it all from the broker, as retained messages.
        async with recording(broker.port, f"{PREFIX}/#") as (seen, _):
            wanted = await expected(enphase_host)
            await eventually(lambda: set(wanted) <= _retained(seen), 5, "retained messages")
            assert {t: seen.latest[t] for t in wanted} == wanted
            state = json.loads(seen.latest[f"{PREFIX}/envoy/state"])
            assert state["production_now_w"] >= 0 and state["battery_soc_percent"] >= 0
            assert sorted(state["zones"]) == ["Inverter 1", "Inverter 2", "Inverter 3"]
            assert seen.latest[f"{PREFIX}/envoy/availability"] == b"online"
            assert int(seen.latest[f"{PREFIX}/envoy/zone/Inverter_1/last_w"]) >= 0
            assert seen.latest[f"{PREFIX}/envoy/online"] == b"true"
            assert f"{PREFIX}/envoy/token" not in seen.latest

            # One state document per poll: the next poll sends another.
            polls = len(seen.on(f"{PREFIX}/envoy/state"))
            await eventually(lambda: len(seen.on(f"{PREFIX}/envoy/state")) > polls, 15)
    assert device_id


def _retained(seen: Recorder) -> set[str]:
    return {m.topic for m in seen.messages if m.retain}


async def _zones_published(host: Host) -> bool:
    zones = await host.store.list_zones()
    values = [await host.store.get_attributes("zone", z.id) for z in zones]
    return len(zones) == 3 and all("last_w" in v for v in values)


async def test_the_broker_killed_and_restarted_gets_the_state_back(
    enphase_host: Host, sim: SimServer, tmp_path: Path
) -> None:
    broker = Broker(tmp_path / "persistent-broker", persistence=True)
    broker.start()
    try:
        device_id = await demo_device(enphase_host, sim)
        async with bridged(enphase_host, options_for(broker)) as bridge:
            async with recording(broker.port, f"{PREFIX}/#") as (seen, _):
                await eventually(lambda: matches_store(enphase_host, seen), 20, "first sync")
            await eventually(lambda: (tmp_path / "persistent-broker/mosquitto.db").exists(), 5)

            broker.kill()
            # Meanwhile the device polls on, and a zone is deleted: the broker restarts
            # with its saved, now stale, retained messages.
            zone = (await enphase_host.store.list_zones(device_id))[0]
            await enphase_host.devices.delete_zone(zone.id)
            polled = (await enphase_host.store.get_attributes("device", device_id))["last_poll_ms"]
            await eventually(
                lambda: _polled_since(enphase_host, device_id, polled.value), 15, "a poll"
            )
            broker.start()

            await eventually(lambda: bridge.connections == 2, 15, "the bridge reconnects")
            async with recording(broker.port, f"{PREFIX}/#") as (seen, _):
                await eventually(lambda: matches_store(enphase_host, seen), 20, "resync")
                assert not any("/zone/Inverter_1/" in topic for topic in seen.latest)
    finally:
        broker.kill()


async def _polled_since(host: Host, device_id: int, before: object) -> bool:
    polled = (await host.store.get_attributes("device", device_id)).get("last_poll_ms")
    return polled is not None and polled.value != before


async def test_a_token_change_never_reaches_the_broker(
    enphase_host: Host, sim: SimServer, broker: Broker
) -> None:
    async with recording(broker.port, "#") as (seen, _):
        old = sim.mint_token("installer", 365 * 24 * 3600)
        async with bridged(enphase_host, options_for(broker, commands="all")):
            device_id = await demo_device(enphase_host, sim)
            before = len(seen.messages)
            new = sim.mint_token("owner", 30 * 24 * 3600)
            await enphase_host.devices.update(device_id, attributes={"token": new})
            await eventually(
                lambda: _token_type(enphase_host, device_id, "owner"), 20, "the new token used"
            )
            await eventually(lambda: len(seen.messages) > before + 5, 20, "traffic after it")
        secrets = secret_texts(old) | secret_texts(new)
        for message in seen.messages:
            assert not any(s in message.topic for s in secrets)
            assert not any(s.encode() in message.payload for s in secrets), message.topic
        assert not [m.topic for m in seen.messages if m.topic.endswith("/token")]


async def _token_type(host: Host, device_id: int, kind: str) -> bool:
    token_type = (await host.store.get_attributes("device", device_id)).get("token_type")
    return token_type is not None and token_type.value == kind

"""What changes without an event (a setting edited, a zone renamed, a device renamed or
deleted) reaches the broker within a reconcile period, and what went away is cleared."""

from __future__ import annotations

from pathlib import Path

from gem_envoy.host.service import Host
from tests.eventually import eventually
from tests.fakes import FakeDriver
from tests.host.bridges.conftest import bridged, options_for
from tests.mqtt_broker import Broker, recording


async def test_edits_renames_and_deletions_are_followed(tmp_path: Path, broker: Broker) -> None:
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    try:
        device = await host.devices.create("meter", "fake")
        zone = await host.devices.add_zone(device.id, "Roof 1", "A1")
        await host.store.set_attributes("zone", zone.id, {"panel_w": 250})
        async with (
            recording(broker.port, "gem-envoy/#") as (seen, _),
            bridged(host, options_for(broker), reconcile_s=0.2),
        ):
            await eventually(lambda: "gem-envoy/meter/zone/Roof_1/panel_w" in seen.latest, 10)

            await host.devices.update(device.id, attributes={"poll_interval_s": 0.5})
            await eventually(
                lambda: seen.latest.get("gem-envoy/meter/poll_interval_s") == b"0.5", 10
            )

            await host.devices.update_zone(zone.id, name="Roof 2")
            await eventually(lambda: "gem-envoy/meter/zone/Roof_2/panel_w" in seen.latest, 10)
            assert not [t for t in seen.latest if "/Roof_1/" in t]

            await host.devices.update(device.id, name="main-meter")
            await eventually(lambda: "gem-envoy/main-meter/state" in seen.latest, 10)
            await eventually(lambda: not [t for t in seen.latest if "/meter/" in t], 10)

            await host.devices.delete(device.id)
            await eventually(lambda: set(seen.latest) == {"gem-envoy/status"}, 10, "all gone")
    finally:
        await host.close()


async def test_what_an_earlier_run_left_on_the_broker_is_cleared(
    tmp_path: Path, broker: Broker
) -> None:
    """A device deleted while the host was stopped: its retained values and its Home
    Assistant device are cleared at the next connect; other programs' topics stay."""
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    stale = {
        "gem-envoy/ghost/polls": b"3",
        "gem-envoy/ghost/state": b"{}",
        "homeassistant/device/gem-envoy_99/config": b'{"dev": {}}',
    }
    others = {
        "homeassistant/device/zigbee_1/config": b'{"dev": {}}',
        "other/topic": b"kept",
    }
    try:
        await host.devices.create("meter", "fake")
        async with recording(broker.port, "#") as (seen, client):
            for topic, payload in (stale | others).items():
                await client.publish(topic, payload, qos=1, retain=True)
            await eventually(lambda: set(stale | others) <= set(seen.latest), 5)
            async with bridged(host, options_for(broker)):
                await eventually(lambda: not set(stale) & set(seen.latest), 10, "stale cleared")
                assert {t: seen.latest.get(t) for t in others} == others
                assert "gem-envoy/meter/state" in seen.latest
    finally:
        await host.close()

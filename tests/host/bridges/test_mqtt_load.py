"""The bridge under load, against a real broker: many devices polled at once all reach it,
each state document in order, and changes the hub dropped are caught up from the store."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.host.events import QUEUE_SIZE, AttributeChange
from gem_envoy.host.service import Host
from tests.eventually import eventually
from tests.fakes import FakeDriver
from tests.host.bridges.conftest import bridged, options_for
from tests.mqtt_broker import Broker, Recorder, recording

PREFIX = "gem-envoy"
DEVICES = 50
POLLS = 6  # each device's polls seen on the broker before the test looks at the order


@pytest.fixture
async def fake_host(tmp_path: Path) -> AsyncIterator[Host]:
    FakeDriver.fresh()
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await host.supervisor.start()
    try:
        yield host
    finally:
        await host.close()


def polls_in_states(seen: Recorder, name: str) -> list[int]:
    """The `polls` of each state document of one device, in the order they arrived."""
    documents = [json.loads(p) for p in seen.on(f"{PREFIX}/{name}/state") if p]
    return [d["polls"] for d in documents if "polls" in d]


async def test_many_devices_polled_at_once_all_reach_the_broker_in_order(
    fake_host: Host, broker: Broker
) -> None:
    names = [f"fake-{n:02d}" for n in range(DEVICES)]
    bridge = bridged(fake_host, options_for(broker))
    async with recording(broker.port, f"{PREFIX}/#") as (seen, _), bridge:
        for name in names:
            attributes = {"poll_interval_s": 0.25}
            await fake_host.devices.create(name, "fake", attributes=attributes)

        async def all_polled() -> bool:
            return all(len(polls_in_states(seen, n)) >= POLLS for n in names)

        await eventually(all_polled, 60, f"{POLLS} state documents of each device")
        for name in names:
            states = polls_in_states(seen, name)
            assert states == sorted(states), f"{name}'s state documents out of order"
            values = [int(p) for p in seen.on(f"{PREFIX}/{name}/polls")]
            assert values == sorted(values), f"{name}'s polls out of order"
            assert seen.latest[f"{PREFIX}/{name}/availability"] == b"online"


async def test_changes_the_hub_dropped_are_caught_up_from_the_store(
    fake_host: Host, broker: Broker
) -> None:
    device = await fake_host.devices.create("quiet", "fake", attributes={"mode": "hang"})
    topic = f"{PREFIX}/quiet/note"
    bridge = bridged(fake_host, options_for(broker))
    async with recording(broker.port, f"{PREFIX}/#") as (seen, _), bridge:
        # Stored without an event, then more changes than the hub's queue holds, told at
        # once: the bridge learns some were dropped, and reads the store again.
        await fake_host.store.set_attributes("device", device.id, {"note": "from the store"})
        gone = AttributeChange("device", 10**6, {"x": 1}, time.time())
        for _ in range(QUEUE_SIZE + 10):
            fake_host.events.publish(gone)

        async def caught_up() -> bool:
            return seen.latest.get(topic) == b"from the store"

        await eventually(caught_up, 15, "the stored value on the broker")

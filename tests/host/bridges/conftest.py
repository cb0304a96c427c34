"""A broker per test, and a bridge running against it for the length of a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gem_envoy.host.bridges.mqtt import MqttBridge
from gem_envoy.host.bridges.mqtt_options import MqttOptions
from gem_envoy.host.service import Host
from tests.mqtt_broker import Broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    running = Broker(tmp_path / "broker")
    running.start()
    try:
        yield running
    finally:
        running.kill()


def options_for(broker: Broker, **changes: object) -> MqttOptions:
    """Options for a bridge to `broker`, reconnecting within a second in tests."""
    base = MqttOptions(host="127.0.0.1", port=broker.port, backoff_first_s=0.1, backoff_cap_s=1.0)
    return replace(base, **changes)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def bridged(
    host: Host, options: MqttOptions, *, reconcile_s: float = 30.0
) -> AsyncIterator[MqttBridge]:
    """A bridge for `host`, connected and in sync when the block begins, stopped after."""
    bridge = MqttBridge(host.store, host.supervisor, host.events, options, reconcile_s=reconcile_s)
    task = asyncio.create_task(bridge.run(), name="test-mqtt-bridge")
    try:
        await asyncio.wait_for(bridge.connected.wait(), 15)
        yield bridge
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

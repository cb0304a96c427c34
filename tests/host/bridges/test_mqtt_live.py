"""`--mqtt-live`: the bridge watches every device while connected, as an open page does;
without it, the bridge's presence keeps no device live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.cli.parsing import UsageError
from gem_envoy.host.service import Host
from tests.fakes import FakeDriver
from tests.host.bridges.conftest import bridged, options_for
from tests.host.bridges.test_mqtt_cli import parsed
from tests.mqtt_broker import Broker


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    FakeDriver.fresh()
    opened = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver})
    await opened.supervisor.start()
    opened.supervisor.watchers.grace_s = 0.0
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_live_bridge_watches_every_device_while_connected(
    host: Host, broker: Broker
) -> None:
    device = await host.devices.create("meter", "fake", attributes={"poll_interval_s": 60})
    watchers = host.supervisor.watchers
    async with bridged(host, options_for(broker)):
        assert not watchers.watched(device.id)  # the default: the page decides
    async with bridged(host, options_for(broker, live=True)):
        assert watchers.watched(device.id)
        assert FakeDriver.of_device(device.id)[-1].watched[-1] is True
    assert not watchers.watched(device.id)


def test_the_option_needs_a_broker() -> None:
    options = parsed("--mqtt", "mqtt://broker.lan", "--mqtt-live")
    assert options is not None and options.live
    default = parsed("--mqtt", "mqtt://broker.lan")
    assert default is not None and not default.live
    with pytest.raises(UsageError, match="--mqtt-live needs --mqtt"):
        parsed("--mqtt-live")

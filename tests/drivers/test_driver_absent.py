"""Values whose source the driver no longer reads are reported absent, not left stale."""

from __future__ import annotations

from gem_envoy.host.contract import ZoneConfig
from tests.captures import capture_transport
from tests.drivers.test_driver import CTS_AND_BATTERY, config, driver_on
from tests.fakes import RecordingSink

ROOF = ZoneConfig(7, "roof", "202314072546")


async def test_an_owner_token_removes_battery_and_inverter_values_read_before() -> None:
    transport, sink = capture_transport(CTS_AND_BATTERY), RecordingSink()
    driver = driver_on(transport, config(transport.mint("installer"), ROOF), sink)
    await driver.connect()
    await driver.poll()
    assert sink.device["battery_soc_percent"] == 92.0
    assert sink.zone(ROOF.id)["last_w"] == 307

    assert driver.reconfigure(config(transport.mint("owner"), ROOF))
    await driver.poll()  # the Encharge endpoints and the inverter list need an installer
    assert "battery_soc_percent" not in sink.device
    assert "battery_now_w" not in sink.device
    assert sink.zone(ROOF.id) == {}
    assert sink.device["production_now_w"] == 13029  # what the owner may read stays
    assert sink.device["token_type"] == "owner"

    assert driver.reconfigure(config(transport.mint("installer"), ROOF))
    await driver.poll()
    assert sink.device["battery_soc_percent"] == 92.0
    assert sink.zone(ROOF.id)["last_w"] == 307

"""The enphase_envoy driver as the host drives it (connect, poll, command, reconfigure,
disconnect), over real captures served from memory through the driver's `_open_client` seam.

The same driver in a real host over HTTPS is tested in tests/test_host_with_driver.py.
"""

from __future__ import annotations

import pytest

from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.host.contract import DeviceConfig, DeviceError, ZoneConfig
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport
from tests.fakes import RecordingSink

CTS_AND_BATTERY = "8.1.41"
PRE_TOKEN = "5.0.62"
ROOF = ZoneConfig(7, "roof", "202314072546")


def config(token: str, *zones: ZoneConfig, **attributes: AttributeValue) -> DeviceConfig:
    values: dict[str, AttributeValue] = {"ip": "192.0.2.10", "token": token, **attributes}
    return DeviceConfig(1, "envoy", values, zones)


def driver_on(
    transport: CaptureTransport, device: DeviceConfig, sink: RecordingSink
) -> EnphaseEnvoyDriver:
    """The real driver, whose client speaks to `transport` instead of opening HTTPS."""

    class OnCapture(EnphaseEnvoyDriver):
        def _open_client(self) -> EnvoyClient:
            return EnvoyClient(transport, self.settings.token)

    return OnCapture(device, sink)


async def test_connect_reports_who_the_gateway_is_and_polls_report_readings_and_zones() -> None:
    transport, sink = capture_transport(CTS_AND_BATTERY), RecordingSink()
    driver = driver_on(transport, config(transport.mint("installer"), ROOF), sink)
    await driver.connect()
    identity = sink.device
    assert identity["serial_number"] == transport.serial
    assert identity["token_type"] == "installer"
    await driver.poll()
    await driver.disconnect()

    assert sink.device["production_now_w"] == 13029
    assert sink.device["battery_soc_percent"] == 92.0
    assert sink.zone(ROOF.id) == {
        "last_w": 307,
        "max_w": 319,
        "state": "307",
        "last_report_time": "2023-08-18T19:10:44Z",
    }
    assert transport.stats.check_jwt == 1
    assert transport.closed


async def test_a_pre_token_gateway_is_a_permanent_device_error() -> None:
    transport, sink = capture_transport(PRE_TOKEN), RecordingSink()
    driver = driver_on(transport, config(transport.mint("installer")), sink)
    with pytest.raises(DeviceError, match=r"pre-token \(D5\)") as refused:
        await driver.connect()
    assert refused.value.permanent
    # Retrying cannot help: the host asks again only once per polling interval.
    assert driver.retry_delay_s(1, refused.value) == driver.poll_interval_s()
    # Only what describes the token set was reported; nothing from the refused gateway.
    assert [set(report) for report in sink.device_reports] == [{"token_type", "token_expires_at"}]


async def test_an_expired_token_fails_polls_until_a_new_one_applies_in_place() -> None:
    transport, sink = capture_transport(CTS_AND_BATTERY), RecordingSink()
    expired = config(transport.mint("installer", lifetime_s=-60))
    driver = driver_on(transport, expired, sink)
    await driver.connect()  # /info needs no token
    with pytest.raises(DeviceError, match=r"auth rejected \(401\)") as rejected:
        await driver.poll()
    assert rejected.value.permanent

    fresh = config(transport.mint("owner"))
    assert driver.reconfigure(fresh)  # no restart: same connection, new token
    await driver.poll()
    assert sink.device["token_type"] == "owner"
    assert sink.device["production_now_w"] == 13029


async def test_a_command_reads_the_gateway_and_refreshes_attributes() -> None:
    transport, sink = capture_transport(CTS_AND_BATTERY), RecordingSink()
    driver = driver_on(transport, config(transport.mint("installer")), sink)
    await driver.connect()
    inverters = await driver.command("get_inverters", {}, None)
    assert isinstance(inverters, dict) and len(inverters["serials"]) == 44
    await driver.command("get_status", {}, None)
    assert sink.device["production_now_w"] == 13029

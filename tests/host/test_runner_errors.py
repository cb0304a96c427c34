"""How the host tells a device's failure (DeviceError) from a bug in its driver."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from gem_envoy.host.contract import (
    CommandSpec,
    DeviceConfig,
    DeviceError,
    Driver,
    DriverMetadata,
    Json,
    ZoneConfig,
)
from gem_envoy.host.runner import DeviceRunner
from tests.fakes import RecordingSink

INTERVAL_S = 30.0


class FailingDriver(Driver):
    """Every poll fails with the exception its class attribute names."""

    name = "failing"
    failure: Exception = DeviceError("gateway unreachable: connection refused")

    @classmethod
    def metadata(cls) -> DriverMetadata:
        return DriverMetadata("test", (), (), (), ())

    @classmethod
    def commands(cls) -> tuple[CommandSpec, ...]:
        return ()

    def poll_interval_s(self) -> float:
        return INTERVAL_S

    async def connect(self) -> None:
        pass

    async def poll(self) -> None:
        raise self.failure

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        return None

    async def disconnect(self) -> None:
        pass


async def poll_once(failure: Exception) -> tuple[float, RecordingSink]:
    """One cycle of a runner whose driver fails with `failure`; the retry delay and reports."""
    driver = type("Driver", (FailingDriver,), {"failure": failure})
    sink = RecordingSink()
    runner = DeviceRunner(DeviceConfig(1, "gw", {}), driver, sink)
    delay = await runner._cycle()
    await runner.close()
    return delay, sink


async def test_a_device_error_is_one_log_line_and_its_own_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        delay, sink = await poll_once(DeviceError("gateway unreachable: connection refused"))
    [record] = [r for r in caplog.records if r.name == "gem_envoy.host.runner"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == "device gw: gateway unreachable: connection refused"
    assert sink.device["last_error"] == "gateway unreachable: connection refused"
    assert delay < 2.0  # transient: retried soon


async def test_a_permanent_device_error_waits_a_whole_interval() -> None:
    delay, _ = await poll_once(DeviceError("auth rejected (401)", permanent=True))
    assert delay == INTERVAL_S


async def test_a_driver_bug_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        _, sink = await poll_once(KeyError("production"))
    [record] = [r for r in caplog.records if r.name == "gem_envoy.host.runner"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    assert "Traceback" in caplog.text
    assert sink.device["online"] is False
    assert "KeyError" in str(sink.device["last_error"])  # findable in the log


async def test_a_bug_is_logged_once_not_every_poll(caplog: pytest.LogCaptureFixture) -> None:
    driver = type("Driver", (FailingDriver,), {"failure": RuntimeError("boom")})
    runner = DeviceRunner(DeviceConfig(1, "gw", {}), driver, RecordingSink())
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await runner._cycle()
    await runner.close()
    assert len([r for r in caplog.records if r.name == "gem_envoy.host.runner"]) == 1

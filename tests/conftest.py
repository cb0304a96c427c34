"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host
from tests.fakes import FakeDriver


@pytest.fixture(autouse=True)
def _no_fake_drivers_from_earlier_tests() -> None:
    # FakeDriver keeps its instances on the class; each test starts without those of others.
    FakeDriver.fresh()


@pytest.fixture
async def enphase_host(tmp_path: Path) -> AsyncIterator[Host]:
    """A host in this process with the real drivers, started (no API): devices added through
    `host.devices` begin polling at once."""
    host = await Host.open(tmp_path / "host" / "gem.db", DRIVERS)
    await host.supervisor.start()
    try:
        yield host
    finally:
        await host.close()

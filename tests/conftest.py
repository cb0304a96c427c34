"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host
from gem_envoy.sim import SimOptions, SimServer, start_simulator
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


@pytest.fixture
async def frozen_battery_sim() -> AsyncIterator[SimServer]:
    """A simulated gateway in this process: 3 inverters, CTs, an Encharge, a frozen plant
    (between two polls nothing changes but the poll's time)."""
    server = await start_simulator(SimOptions(inverters=3, battery=True, speed=0))
    try:
        yield server
    finally:
        await server.close()

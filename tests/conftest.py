"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.fakes import FakeDriver

# The files that take longest, mostly on real timers (a minute of them each for the first
# two), slowest first, then the browser's (a page and a stack of servers each). `make test`
# hands whole files to its xdist workers in collection order (`--dist loadfile
# --no-loadscope-reorder`): these go first and the many short files last, so that no worker is
# left running a long one alone at the end. Only the order: a file missing here costs time,
# never a result.
SLOW_FILES = (
    "tests/test_battery_control.py",
    "tests/reliability/",  # a folder: every file in it
    "tests/bench/",
    "tests/test_plausible_host.py",
    "tests/test_token_renewal.py",
    "tests/test_certificate_pinning.py",
    "tests/test_discovery_multicast.py",
    "tests/test_token_secrets.py",
    "tests/test_crash_safety.py",
    "tests/envoy/test_parse.py",
    "tests/web/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files in SLOW_FILES first, each whole and in its own order; the rest as found."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        for number, slow in enumerate(SLOW_FILES):
            if path == slow or (slow.endswith("/") and path.startswith(slow)):
                return number
        return len(SLOW_FILES)

    items.sort(key=rank)


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

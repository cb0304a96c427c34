"""Fixtures for the simulator tests: simulators on 127.0.0.1 and the capture folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gem_envoy.sim import SimOptions, SimServer, start_simulator

from .helpers import CAPTURES_ENV, NOON, captures_dir

MakeSim = Callable[..., Awaitable[SimServer]]


@pytest.fixture
def captures() -> Path:
    path = captures_dir()
    if not path.is_dir():
        reason = f"no capture folder at {path} (set {CAPTURES_ENV} to point at one)"
        print(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
async def make_sim() -> AsyncIterator[MakeSim]:
    """Start simulators, closed after the test. Defaults: noon, plant clock on UTC."""
    servers: list[SimServer] = []

    async def make(**overrides: Any) -> SimServer:
        settings: dict[str, Any] = {"start_time": NOON, "utc_offset_s": 0}
        settings.update(overrides)
        server = await start_simulator(SimOptions(**settings))
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


@pytest.fixture
async def sim(make_sim: MakeSim) -> SimServer:
    return await make_sim()

"""The supervisor and its runners with small fake drivers: isolation, health, retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import ClassVar

from gem_envoy.host.contract import (
    CommandSpec,
    DeviceConfig,
    Driver,
    DriverMetadata,
    Json,
    Sink,
    ZoneConfig,
)
from gem_envoy.host.events import EventHub
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor

INTERVAL_S = 0.2


class FakeDriver(Driver):
    """Polls write a counter; `mode` (an attribute) makes it hang or fail."""

    name = "fake"
    polls: ClassVar[dict[int, list[float]]] = {}

    def __init__(self, config: DeviceConfig, sink: Sink) -> None:
        super().__init__(config, sink)
        self.polls.setdefault(config.id, [])

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
        self.polls[self.config.id].append(time.monotonic())
        mode = self.config.attributes.get("mode")
        if mode == "hang":
            await asyncio.Event().wait()
        if mode == "crash":
            raise RuntimeError("the fake device exploded")
        await self.sink.device_attributes({"count": len(self.polls[self.config.id])})

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        return None

    async def disconnect(self) -> None:
        pass


async def start(store: Store, **devices: str) -> tuple[Supervisor, dict[str, int]]:
    ids = {}
    for name, mode in devices.items():
        ids[name] = (await store.add_device(name, "fake", attributes={"mode": mode})).id
    supervisor = Supervisor(store, {"fake": FakeDriver}, EventHub())
    await supervisor.start()
    return supervisor, ids


async def test_a_hung_device_never_delays_another(store: Store) -> None:
    supervisor, ids = await start(store, stuck="hang", healthy="ok")
    try:
        await asyncio.sleep(INTERVAL_S * 6)
    finally:
        await supervisor.stop()
    assert len(FakeDriver.polls[ids["stuck"]]) == 1
    assert len(FakeDriver.polls[ids["healthy"]]) >= 4
    assert supervisor.runners == {}


async def test_a_crashing_driver_reports_offline_and_the_host_goes_on(store: Store) -> None:
    supervisor, ids = await start(store, broken="crash", fine="ok")
    try:
        await asyncio.sleep(INTERVAL_S * 4)
        broken = await store.get_attributes("device", ids["broken"])
        fine = await store.get_attributes("device", ids["fine"])
    finally:
        await supervisor.stop()
    assert broken["online"].value is False
    assert broken["last_error"].value == "the fake device exploded"
    assert "count" not in broken
    assert fine["online"].value is True and fine["last_error"].value == ""
    assert len(FakeDriver.polls[ids["broken"]]) >= 2  # it keeps trying


async def test_disabling_a_device_stops_its_task(store: Store) -> None:
    supervisor, ids = await start(store, one="ok")
    try:
        await store.update_device(ids["one"], enabled=False)
        await supervisor.reload(ids["one"])
        before = len(FakeDriver.polls[ids["one"]])
        await asyncio.sleep(INTERVAL_S * 3)
        assert len(FakeDriver.polls[ids["one"]]) == before
        assert ids["one"] not in supervisor.runners
    finally:
        await supervisor.stop()


def test_retry_delays_grow_with_jitter_up_to_the_interval() -> None:
    class SlowPolling(FakeDriver):
        def poll_interval_s(self) -> float:
            return 30.0

    driver = SlowPolling(DeviceConfig(99, "x", {}), sink=None)  # type: ignore[arg-type]
    error = RuntimeError("down")
    delays = [driver.retry_delay_s(n, error) for n in range(1, 9)]
    for n, delay in enumerate(delays[:5], start=1):
        assert 0.8 * 2 ** (n - 1) <= delay <= 2 ** (n - 1)
    assert all(24.0 <= d <= 30.0 for d in delays[5:])  # capped at the polling interval
    assert len({driver.retry_delay_s(3, error) for _ in range(20)}) > 1  # jittered

"""The supervisor and its runners with the fake driver: isolation, health, retries."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from gem_envoy.host.contract import AttributeSpec, DeviceConfig, DeviceError, DriverMetadata
from gem_envoy.host.events import EventHub
from gem_envoy.host.store import HistorySeries, Store
from gem_envoy.host.supervisor import Supervisor, counter_names
from tests.eventually import eventually
from tests.fakes import DEFAULT_INTERVAL_S as INTERVAL_S
from tests.fakes import FakeDriver, RecordingSink


async def start(store: Store, **devices: str) -> tuple[Supervisor, dict[str, int]]:
    """A supervisor running one fake device per keyword, its value the device's mode."""
    ids = {}
    for name, mode in devices.items():
        ids[name] = (await store.add_device(name, "fake", attributes={"mode": mode})).id
    supervisor = Supervisor(store, {"fake": FakeDriver}, EventHub())
    await supervisor.start()
    return supervisor, ids


async def test_a_hung_device_never_delays_another(store: Store) -> None:
    supervisor, ids = await start(store, stuck="hang", healthy="ok")
    try:
        await eventually(lambda: FakeDriver.polls_of(ids["healthy"]) >= 4)
    finally:
        await supervisor.stop()
    assert FakeDriver.polls_of(ids["stuck"]) == 1
    assert supervisor.runners == {}


async def test_a_failing_device_or_a_driver_bug_is_reported_and_the_host_goes_on(
    store: Store,
) -> None:
    supervisor, ids = await start(store, broken="fail", buggy="bug", fine="ok")
    try:
        # Both are retried (at most an interval apart); the healthy one polls meanwhile.
        await eventually(lambda: min(FakeDriver.polls_of(i) for i in ids.values()) >= 2)
        broken = await store.get_attributes("device", ids["broken"])
        buggy = await store.get_attributes("device", ids["buggy"])
        fine = await store.get_attributes("device", ids["fine"])
    finally:
        await supervisor.stop()
    assert broken["online"].value is False
    assert broken["last_error"].value == "the fake device is unreachable"  # its own words
    assert buggy["online"].value is False
    assert "the fake driver has a bug" in str(buggy["last_error"].value)
    assert "polls" not in broken and "polls" not in buggy
    assert fine["online"].value is True and fine["last_error"].value == ""


async def test_disabling_a_device_stops_its_task(store: Store) -> None:
    supervisor, ids = await start(store, one="ok")
    try:
        await eventually(lambda: FakeDriver.polls_of(ids["one"]) >= 1)
        await store.update_device(ids["one"], enabled=False)
        await supervisor.reload(ids["one"])
        before = FakeDriver.polls_of(ids["one"])
        await asyncio.sleep(INTERVAL_S * 3)
        assert FakeDriver.polls_of(ids["one"]) == before
        assert ids["one"] not in supervisor.runners
    finally:
        await supervisor.stop()


def test_retry_delays_grow_with_jitter_up_to_the_interval() -> None:
    driver = FakeDriver(DeviceConfig(99, "x", {"poll_interval_s": 30.0}), RecordingSink())
    error = RuntimeError("down")
    delays = [driver.retry_delay_s(n, error) for n in range(1, 9)]
    for n, delay in enumerate(delays[:5], start=1):
        assert 0.8 * 2 ** (n - 1) <= delay <= 2 ** (n - 1)
    assert all(24.0 <= d <= 30.0 for d in delays[5:])  # capped at the polling interval
    assert len({driver.retry_delay_s(3, error) for _ in range(20)}) > 1  # jittered


def test_a_permanent_failure_is_retried_once_per_interval() -> None:
    driver = FakeDriver(DeviceConfig(99, "x", {"poll_interval_s": 30.0}), RecordingSink())
    refused = DeviceError("auth rejected (401)", permanent=True)
    assert {driver.retry_delay_s(n, refused) for n in (1, 2, 5)} == {30.0}


class MeterDriver(FakeDriver):
    """The fake driver with a charted lifetime counter and a counter that is not charted."""

    @classmethod
    def metadata(cls) -> DriverMetadata:
        base = FakeDriver.metadata()
        energy = AttributeSpec("energy_wh", "int", "energy", history=True, total=True)
        uncharted = AttributeSpec("starts", "int", "starts", total=True)
        return replace(base, runtime=(*base.runtime, energy, uncharted))


async def test_the_store_learns_which_charted_names_are_counters(store: Store) -> None:
    assert counter_names({"meter": MeterDriver, "fake": FakeDriver}) == {"energy_wh"}
    Supervisor(store, {"meter": MeterDriver}, EventHub(), polling=False)
    device = await store.add_device("meter", "meter")
    points = [(3600.0 + 60 * i, 100.0 + i) for i in range(10)]
    await store.add_history(
        [
            HistorySeries("device", device.id, "energy_wh", points),
            HistorySeries("device", device.id, "polls", points),
        ]
    )
    await store.roll_up(3 * 3600.0)
    [energy] = await store.rollups("device", device.id, "energy_wh", 3600, 0)
    [polls] = await store.rollups("device", device.id, "polls", 3600, 0)
    assert (energy.delta, polls.delta) == (9.0, None)

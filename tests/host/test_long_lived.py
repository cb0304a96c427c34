"""What the devices hold once they have all polled is frozen out of full collections (whose
pauses, at 2000 devices, delayed the polls due meanwhile by 280 ms; see `long_lived`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gem_envoy.host import long_lived
from gem_envoy.host.events import EventHub
from gem_envoy.host.runner import DeviceRunner
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor
from tests.eventually import eventually
from tests.fakes import FakeDriver


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the other tests of this process see an ordinary collector


def is_frozen(thing: object) -> bool:
    return not any(o is thing for o in gc.get_objects())


def driver_frozen(runner: DeviceRunner) -> bool:
    """Whether a freeze came after the runner's first cycle began (its driver is made then)."""
    driver = runner._driver
    return driver is not None and is_frozen(driver)


async def started(store: Store, **devices: str) -> Supervisor:
    for name, mode in devices.items():
        await store.add_device(name, "fake", attributes={"mode": mode})
    supervisor = Supervisor(store, {"fake": FakeDriver}, EventHub())
    await supervisor.start()
    return supervisor


async def test_the_devices_are_frozen_once_each_has_polled_once(store: Store) -> None:
    supervisor = await started(store, good="ok", broken="fail")
    try:
        runners = list(supervisor.runners.values())
        await eventually(lambda: all(driver_frozen(runner) for runner in runners))
        assert all(runner.first_poll_done.is_set() for runner in runners)  # a failure counts
    finally:
        await supervisor.stop()


async def test_a_hung_first_poll_delays_the_freeze_only_up_to_the_limit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(long_lived, "SETTLE_LIMIT_S", 1.0)
    supervisor = await started(store, stuck="hang", good="ok")
    try:
        stuck = next(r for r in supervisor.runners.values() if r.config.name == "stuck")
        await eventually(lambda: gc.get_freeze_count() > 0)
        assert not stuck.first_poll_done.is_set()
        assert is_frozen(stuck)
    finally:
        await supervisor.stop()


async def test_a_host_without_polling_freezes_nothing(store: Store) -> None:
    await store.add_device("one", "fake")
    supervisor = Supervisor(store, {"fake": FakeDriver}, EventHub(), polling=False)
    await supervisor.start()
    await supervisor.stop()
    assert gc.get_freeze_count() == 0


async def test_a_device_added_later_is_frozen_once_it_has_polled(store: Store) -> None:
    supervisor = await started(store)  # no device yet: nothing to wait for
    try:
        device = await store.add_device("late", "fake")
        await supervisor.reload(device.id)
        runner = supervisor.runners[device.id]
        await eventually(lambda: driver_frozen(runner))
        assert runner.first_poll_done.is_set()
    finally:
        await supervisor.stop()

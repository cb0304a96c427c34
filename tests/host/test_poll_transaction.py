"""A poll's writes (device values, every zone's, health) go to the store as one transaction
at the end of the cycle (`StoreSink.one_transaction`), and the writer runs the jobs waiting
in its queue in one trip to its thread, each still in a transaction of its own."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

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
from gem_envoy.host.events import AttributeChange, EventHub
from gem_envoy.host.runner import DeviceRunner
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.sink import StoreSink
from gem_envoy.host.store import NotFoundError, Store, StoreError
from tests.fakes import RecordingSink
from tests.host.conftest import snapshot

ZONES = 12


async def _device_with_zones(store: Store) -> tuple[int, list[int]]:
    device = await store.add_device("gw", "fake")
    zones = [(await store.add_zone(device.id, f"inverter-{n}", f"SN{n}")).id for n in range(ZONES)]
    return device.id, zones


def _stored(path: Path) -> dict[tuple[object, ...], object]:
    return {(row[0], row[1], row[2]): row[4] for row in snapshot(path)["attributes"]}


def _count_jobs(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The jobs given to the store's writer from now on."""
    jobs: list[object] = []
    enqueue = store._writer.enqueue

    def counted(job: Any) -> Any:
        jobs.append(job)
        return enqueue(job)

    monkeypatch.setattr(store._writer, "enqueue", counted)
    return jobs


def _drain(queue: asyncio.Queue[AttributeChange]) -> list[AttributeChange]:
    changes = []
    while not queue.empty():
        changes.append(queue.get_nowait())
    return changes


async def test_a_polls_writes_are_held_until_its_end_then_stored_and_told_together(
    store: Store, db_path: Path
) -> None:
    device_id, zones = await _device_with_zones(store)
    events = EventHub()
    sink = StoreSink(store, device_id, events, history={"last_w"})
    async with events.subscribe() as queue:
        async with sink.one_transaction():
            await sink.device_attributes({"production_now_w": 1500})
            for n, zone_id in enumerate(zones):
                await sink.zone_attributes(zone_id, {"last_w": 100 + n})
            await sink.device_attributes({"online": True})
            # Nothing reached the database yet: a crash now leaves none of the poll's writes.
            assert not any(key[0] == "zone" for key in _stored(db_path))
            assert ("device", device_id, "online") not in _stored(db_path)
            assert queue.empty()
        stored = _stored(db_path)
        told = _drain(queue)
    assert stored[("device", device_id, "production_now_w")] == "1500"
    assert stored[("device", device_id, "online")] == "true"
    for n, zone_id in enumerate(zones):
        assert stored[("zone", zone_id, "last_w")] == str(100 + n)
        assert await store.history("zone", zone_id, "last_w", 0, None) != []
    # Every write is told after the commit, in the order it was made.
    assert [(c.target_type, c.target_id) for c in told] == [
        ("device", device_id),
        *(("zone", z) for z in zones),
        ("device", device_id),
    ]


async def test_a_poll_is_one_writer_job(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    device_id, zones = await _device_with_zones(store)
    sink = StoreSink(store, device_id, EventHub())
    jobs = _count_jobs(store, monkeypatch)
    async with sink.one_transaction():
        await sink.device_attributes({"production_now_w": 1})
        for zone_id in zones:
            await sink.zone_attributes(zone_id, {"last_w": 2})
    assert len(jobs) == 1


async def test_a_poll_that_fails_still_stores_what_it_reported(store: Store, db_path: Path) -> None:
    device_id, _ = await _device_with_zones(store)
    sink = StoreSink(store, device_id, EventHub())
    with pytest.raises(RuntimeError):
        async with sink.one_transaction():
            await sink.device_attributes({"serial_number": "1234"})
            raise RuntimeError("the gateway went away")
    assert _stored(db_path)[("device", device_id, "serial_number")] == "1234"


async def test_a_cancelled_poll_still_stores_what_it_reported(store: Store, db_path: Path) -> None:
    device_id, _ = await _device_with_zones(store)
    sink = StoreSink(store, device_id, EventHub())
    task = await _poll_stalled_after_reporting(sink)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await store.get_setting("flush", "")  # a read after the queued write...
    await store.set_setting("after", "1")  # ...and a write behind it: it has committed
    assert _stored(db_path)[("device", device_id, "serial_number")] == "1234"


async def test_a_zone_deleted_meanwhile_is_skipped_and_the_rest_stored(
    store: Store, db_path: Path
) -> None:
    device_id, zones = await _device_with_zones(store)
    events = EventHub()
    sink = StoreSink(store, device_id, events)
    async with events.subscribe() as queue:
        with pytest.raises(NotFoundError):
            async with sink.one_transaction():
                await sink.device_attributes({"production_now_w": 7})
                await sink.zone_attributes(zones[0], {"last_w": 1})
                await store.delete_zone(zones[0])
                await sink.zone_attributes(zones[1], {"last_w": 2})
        told = {(c.target_type, c.target_id) for c in _drain(queue)}
    stored = _stored(db_path)
    assert stored[("device", device_id, "production_now_w")] == "7"
    assert stored[("zone", zones[1], "last_w")] == "2"
    assert ("zone", zones[0]) not in told and ("zone", zones[1]) in told


async def test_bad_input_is_refused_at_once_and_changes_nothing(
    store: Store, db_path: Path
) -> None:
    device_id, _ = await _device_with_zones(store)
    sink = StoreSink(store, device_id, EventHub())
    before = snapshot(db_path)
    with pytest.raises(StoreError):
        async with sink.one_transaction():
            await sink.device_attributes({"bad name!": 1})
    assert snapshot(db_path) == before


async def test_a_secret_is_stored_at_once_and_other_tasks_are_not_held(
    store: Store, db_path: Path
) -> None:
    device_id, _ = await _device_with_zones(store)
    sink = StoreSink(store, device_id, EventHub(), history={"production_now_w"})
    async with sink.one_transaction():
        await sink.device_attributes({"production_now_w": 5})
        await sink.device_attributes({"token": "eyJ.renewed.token"})
        # The token is stored (and what came before it, in order), not held to the end.
        assert ("device", device_id, "token") in _stored(db_path)
        assert _stored(db_path)[("device", device_id, "production_now_w")] == "5"
        # A live feed (another task) writes through while the poll holds its own writes.
        await asyncio.create_task(sink.device_live({"battery_now_w": 9}, history_every_s=5))
        await sink.device_attributes({"online": True})
        assert _stored(db_path)[("device", device_id, "battery_now_w")] == "9"
        assert ("device", device_id, "online") not in _stored(db_path)
    assert _stored(db_path)[("device", device_id, "online")] == "true"


async def test_the_writer_runs_queued_jobs_in_one_trip_each_in_its_own_transaction(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = []
    transactions = store._write_thread.transactions

    async def counted(begin: str, jobs: Any) -> Any:
        trips.append(len(jobs))
        return await transactions(begin, jobs)

    monkeypatch.setattr(store._write_thread, "transactions", counted)

    def insert(name: str, conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO settings (key, value) VALUES (?, '1')", (name,))
        if name == "bad":
            raise ValueError("this job fails")

    jobs = [store._writer.enqueue(partial(insert, name)) for name in ("a", "bad", "b")]
    withdrawn = store._writer.enqueue(partial(insert, "withdrawn"))
    withdrawn.cancel()
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert trips == [3]  # one trip; the withdrawn job left out
    keys = {row[0] for row in snapshot(db_path)["settings"]}
    assert {"a", "b"} <= keys  # their neighbour's failure rolled back only its own work
    assert not {"bad", "withdrawn"} & keys


class ZonedDriver(Driver):
    """Reports a device value, then one value per zone, then fails if told to."""

    name = "zoned"
    fail = False

    @classmethod
    def metadata(cls) -> DriverMetadata:
        return DriverMetadata("test", (), (), (), ())

    @classmethod
    def commands(cls) -> tuple[CommandSpec, ...]:
        return ()

    def poll_interval_s(self) -> float:
        return 5.0

    async def connect(self) -> None:
        await self.sink.device_attributes({"serial_number": "SN"})

    async def poll(self) -> None:
        await self.sink.device_attributes({"production_now_w": 10})
        for zone in self.config.zones:
            await self.sink.zone_attributes(zone.id, {"last_w": zone.id})
        if self.fail:
            raise DeviceError("the gateway stopped answering")

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        return None

    async def disconnect(self) -> None:
        pass


@pytest.mark.parametrize("fail", [False, True])
async def test_a_runner_cycle_is_one_transaction_health_included(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool
) -> None:
    device_id, zones = await _device_with_zones(store)
    config = DeviceConfig(
        device_id, "gw", {}, tuple(ZoneConfig(z, f"inverter-{z}", f"SN{z}") for z in zones)
    )
    driver = type("Driver", (ZonedDriver,), {"fail": fail})
    runner = DeviceRunner(config, driver, StoreSink(store, device_id, EventHub()))
    jobs = _count_jobs(store, monkeypatch)
    await runner._cycle()
    assert len(jobs) == 1  # connect, poll, zones and health: one writer job
    stored = _stored(db_path)
    assert stored[("device", device_id, "serial_number")] == "SN"
    assert stored[("device", device_id, "online")] == ("false" if fail else "true")
    assert all(stored[("zone", z, "last_w")] == str(z) for z in zones)


async def test_a_poll_cancelled_after_the_store_closed_is_still_cancelled(
    db_path: Path, keyring: KeyRing
) -> None:
    store = await Store.open(db_path, keyring)
    device_id, _ = await _device_with_zones(store)
    sink = StoreSink(store, device_id, EventHub())
    task = await _poll_stalled_after_reporting(sink)
    await store.close()
    task.cancel()
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)


class SlowCommitSink(RecordingSink):
    """Holds nothing, but takes `commit_s` to leave its transaction, as a busy store would."""

    commit_s = 0.3

    @contextlib.asynccontextmanager
    async def one_transaction(self) -> AsyncIterator[None]:
        yield
        await asyncio.sleep(self.commit_s)


async def test_the_commits_wait_counts_in_the_cycle_so_the_schedule_holds() -> None:
    config = DeviceConfig(1, "gw", {}, ())
    runner = DeviceRunner(config, ZonedDriver, SlowCommitSink())
    delay = await runner._cycle()
    # The interval (5 s) counts from the cycle's start, the commit included.
    assert 5.0 - SlowCommitSink.commit_s - 0.2 < delay < 5.0 - SlowCommitSink.commit_s + 0.01


async def test_writes_to_one_target_in_a_poll_are_merged_in_order(
    store: Store, db_path: Path
) -> None:
    device_id, zones = await _device_with_zones(store)
    events = EventHub()
    sink = StoreSink(store, device_id, events, history={"production_now_w"})
    await sink.device_attributes({"gone_later": 1, "kept": "x"})
    async with events.subscribe() as queue:
        async with sink.one_transaction():
            await sink.device_attributes({"production_now_w": 1, "gone_later": None})
            await sink.zone_attributes(zones[0], {"last_w": 3})
            await sink.device_attributes({"production_now_w": 2, "online": True})
        told = _drain(queue)
    stored = _stored(db_path)
    assert stored[("device", device_id, "production_now_w")] == "2"  # the later value wins
    assert ("device", device_id, "gone_later") not in stored
    assert stored[("device", device_id, "kept")] == "x"
    assert stored[("zone", zones[0], "last_w")] == "3"
    charted = await store.history("device", device_id, "production_now_w", 0, None)
    assert [value for _, value in charted] == [2.0]  # one point per name and poll
    assert len(told) == 3  # listeners still hear of every write, in order


async def _poll_stalled_after_reporting(sink: StoreSink) -> asyncio.Task[None]:
    """A poll that reported a value inside its transaction and then hangs (a gateway that
    never answers the next request), returned once the value is reported."""
    reported = asyncio.Event()

    async def poll() -> None:
        async with sink.one_transaction():
            await sink.device_attributes({"serial_number": "1234"})
            reported.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(poll())
    await reported.wait()
    return task

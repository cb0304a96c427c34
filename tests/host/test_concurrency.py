"""Many tasks writing at once: one queue, one writer, every write lands; reads go on."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gem_envoy.host.store import Store, attributes
from tests.host.conftest import count

TASKS = 20
WRITES_PER_TASK = 10


async def test_concurrent_writes_all_land_while_reads_go_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = await store.add_device("envoy", "d")
    writer_threads: set[str] = set()
    original = attributes.set_attributes

    def spy(*args: object, **kwargs: object) -> None:
        writer_threads.add(threading.current_thread().name)
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(attributes, "set_attributes", spy)
    done = asyncio.Event()
    seen: list[int] = []

    async def write(task: int) -> None:
        for i in range(WRITES_PER_TASK):
            values = {f"t{task}_{i}": i, "counter": task * WRITES_PER_TASK + i}
            await store.set_attributes("device", device.id, values, history=("counter",))

    async def read() -> None:
        while not done.is_set():
            seen.append(len(await store.get_attributes("device", device.id)))
            await asyncio.sleep(0)

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(task) for task in range(TASKS)))
    done.set()
    await reader

    got = await store.get_attributes("device", device.id)
    assert len(got) == TASKS * WRITES_PER_TASK + 1
    assert all(got[f"t{t}_{i}"].value == i for t in range(TASKS) for i in range(WRITES_PER_TASK))
    assert len(await store.history("device", device.id, "counter", 0)) == TASKS * WRITES_PER_TASK
    assert len(writer_threads) == 1 and writer_threads.pop().startswith("gem-store-writer")
    assert seen and seen == sorted(seen)  # reads saw committed states, growing


async def test_writes_are_applied_in_submission_order(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    calls = [store.set_attributes("device", device.id, {"n": n}, history=("n",)) for n in range(50)]
    await asyncio.gather(*calls)
    got = (await store.get_attributes("device", device.id))["n"]
    assert (got.value, got.previous) == (49, 48)
    history = await store.history("device", device.id, "n", 0)
    assert [value for _, value in history] == list(range(50))


async def test_a_failing_write_does_not_disturb_the_others(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    results = await asyncio.gather(
        store.set_attributes("device", device.id, {"a": 1}),
        store.set_attributes("zone", 12345, {"a": 1}),
        store.set_attributes("device", device.id, {"b": 2}),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert type(results[1]).__name__ == "NotFoundError"
    assert sorted(await store.get_attributes("device", device.id)) == ["a", "b"]


async def test_close_finishes_queued_writes(store: Store, db_path: Path) -> None:
    device = await store.add_device("envoy", "d")
    pending = [
        asyncio.ensure_future(store.set_attributes("device", device.id, {f"a{n}": n}))
        for n in range(20)
    ]
    await asyncio.sleep(0)
    await store.close()
    await asyncio.gather(*pending)
    assert count(db_path, "attributes") == 20

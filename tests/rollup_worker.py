"""A process that runs one rollup pass over a database, for the SIGKILL tests
(`tests/test_crash_safety.py`): `python -m tests.rollup_worker DB NOW [PAUSE_S]`. It prints
`rolling` once the store is open, just before the pass, and `done` after it.

With PAUSE_S, each of the pass's writer jobs (one bounded batch) waits that long before it
is queued: the pass then lasts at least its batches times PAUSE_S, however fast the machine,
so that a kill sent a fixed time after `rolling` lands inside it (on a fast machine the
whole pass took less than the kill's delay, and under load more than ten times as long)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store

COUNTERS = {"energy_wh"}


def pause_each_job(store: Store, pause_s: float) -> None:
    write = store._write

    async def paused(job: Any) -> Any:
        await asyncio.sleep(pause_s)
        return await write(job)

    store._write = paused  # type: ignore[method-assign]


async def roll_up(db: Path, now: float, pause_s: float = 0.0) -> int:
    async with await Store.open(db, KeyRing.load_or_create(db)) as store:
        store.declare_counters(COUNTERS)
        if pause_s > 0:
            pause_each_job(store, pause_s)
        print("rolling", flush=True)
        written = await store.roll_up(now)
        print("done", flush=True)
        return written


if __name__ == "__main__":
    pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    asyncio.run(roll_up(Path(sys.argv[1]), float(sys.argv[2]), pause))

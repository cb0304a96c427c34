"""A process that runs one rollup pass over a database, for the SIGKILL tests
(`tests/test_crash_safety.py`): `python -m tests.rollup_worker DB NOW`. It prints `rolling`
once the store is open, just before the pass, and `done` after it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store

COUNTERS = {"energy_wh"}


async def roll_up(db: Path, now: float) -> int:
    async with await Store.open(db, KeyRing.load_or_create(db)) as store:
        store.declare_counters(COUNTERS)
        print("rolling", flush=True)
        written = await store.roll_up(now)
        print("done", flush=True)
        return written


if __name__ == "__main__":
    asyncio.run(roll_up(Path(sys.argv[1]), float(sys.argv[2])))

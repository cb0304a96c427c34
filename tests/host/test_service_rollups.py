"""The running host folds history into rollups in the background, and prunes by age."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gem_envoy.host.service import Host
from gem_envoy.host.store import HistorySeries
from tests.eventually import eventually
from tests.fakes import FakeDriver


async def test_the_host_rolls_history_up_in_the_background(tmp_path: Path) -> None:
    host = await Host.open(tmp_path / "gem.db", {"fake": FakeDriver}, polling=False)
    try:
        device = await host.store.add_device("meter", "fake", enabled=False)
        old = time.time() - 12 * 86400  # past the raw history's 10 days
        points = [(old + 60 * i, float(i)) for i in range(120)]
        await host.store.add_history([HistorySeries("device", device.id, "polls", points)])
        task = asyncio.create_task(host.prune_forever())
        try:

            async def folded_then_pruned() -> bool:
                hours = await host.store.rollups("device", device.id, "polls", 3600, 0)
                raw = await host.store.history("device", device.id, "polls", 0)
                return sum(b.count for b in hours) == 120 and raw == []

            # The first pass runs at once, then the first pruning.
            await eventually(folded_then_pruned, 10, "rolled up, then pruned")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await host.close()

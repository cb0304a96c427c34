"""`Store.counter_energy`: a counter's energy summed per report bucket by SQLite gives the
same totals as the slots read one by one (`slot_energy` without edges), wherever the rollups
stop, with resets, gaps and a raw tail; its input is checked."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import pytest

from gem_envoy.host import energy
from gem_envoy.host.energy_source import slot_energy
from gem_envoy.host.store import HistorySeries, Rollup, Store, ValidationError

HOUR = 3600.0
DAY = 86400.0
NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC


class SlotsOnly:
    """The store without `counter_energy`: the slot-by-slot path of `slot_energy`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def history(
        self, target_type: str, target_id: int, name: str, since: float, until: float | None
    ) -> list[tuple[float, float]]:
        return await self.store.history(target_type, target_id, name, since, until)

    async def rollups(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> Sequence[Rollup]:
        return await self.store.rollups(target_type, target_id, name, resolution_s, since, until)

    async def rolled_up_until(
        self, target_type: str, target_id: int, name: str, resolution_s: int
    ) -> float | None:
        return await self.store.rolled_up_until(target_type, target_id, name, resolution_s)


async def seeded(store: Store, seed: int) -> int:
    """Six days of a counter every 5 minutes, with resets, gaps and random rises."""
    device = await store.add_device("envoy", "d")
    store.declare_counters({"energy_wh"})
    rng = random.Random(seed)
    value, points, t = 1000.0, [], NOW - 6 * DAY
    while t < NOW:
        if rng.random() < 0.01:
            value = rng.uniform(0, 50)  # a reset
        elif rng.random() < 0.02:
            t += rng.uniform(600, 4 * HOUR)  # a gap
        value += round(rng.uniform(0, 300))
        points.append((t, value))
        t += 300
    await store.add_history([HistorySeries("device", device.id, "energy_wh", points)])
    return device.id


@pytest.mark.parametrize("seed", range(4))
async def test_bucket_sums_equal_the_slots_wherever_the_rollups_stop(
    store: Store, seed: int
) -> None:
    device = await seeded(store, seed)
    await store.roll_up(NOW - random.Random(seed).uniform(0, 5) * DAY)  # a raw tail after
    zone = energy.zone_named("Europe/Berlin")
    assert zone is not None
    for period, first in (("day", "2025-12-26"), ("hour", "2025-12-29"), ("month", "2025-12-01")):
        report = energy.span(period, dt.date.fromisoformat(first), None, dt.date(2026, 1, 1))
        spans = energy.buckets(report, zone)
        edges = [b.start_s for b in spans] + [spans[-1].end_s]
        for resolution in (300, 3600):
            args = (device, "energy_wh", resolution, edges[0], edges[-1])
            summed = await slot_energy(store, *args, edges=edges)
            slots = await slot_energy(SlotsOnly(store), *args)
            assert energy.sum_into(spans, {"production": summed}) == energy.sum_into(
                spans, {"production": slots}
            ), (period, resolution)


async def test_edges_are_checked(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    with pytest.raises(ValidationError):
        await store.counter_energy("device", device.id, "energy_wh", 3600, [NOW])
    with pytest.raises(ValidationError):
        await store.counter_energy("device", device.id, "energy_wh", 3600, [NOW, NOW - HOUR])
    with pytest.raises(ValidationError):
        await store.counter_energy("device", device.id, "energy_wh", 60, [NOW - HOUR, NOW])
    empty = await store.counter_energy("device", device.id, "energy_wh", 3600, [NOW - HOUR, NOW])
    assert empty.sums == {} and empty.raw == []

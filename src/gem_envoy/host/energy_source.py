"""A lifetime counter's energy per time slot, for the energy reports: from the store's rollups
(`Store.rollups`, one delta per 5-minute or hourly slot) where they exist, and from the raw
history of the counter for the slots not rolled up yet (the last hour or so, or everything on
a store without rollups).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Protocol, cast

from gem_envoy.host.store.energy_sums import CounterEnergy


class Rollup(Protocol):
    """What is read of one rollup row: its slot's start and the counter's energy in it."""

    @property
    def start(self) -> float: ...

    @property
    def delta(self) -> float | None: ...


class HistoryReader(Protocol):
    """What is read of the store: a counter's raw points (every store has them)."""

    async def history(
        self, target_type: str, target_id: int, name: str, since: float, until: float | None
    ) -> list[tuple[float, float]]: ...


class RollupReader(Protocol):
    """A store with rollups (`Store.rollups`), where they have been built."""

    async def rollups(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> Sequence[Rollup]: ...

    async def rolled_up_until(
        self, target_type: str, target_id: int, name: str, resolution_s: int
    ) -> float | None: ...


class EnergySummer(Protocol):
    """A store that sums a counter's rollups per report bucket itself (`Store.counter_energy`)."""

    async def counter_energy(
        self, target_type: str, target_id: int, name: str, resolution_s: int, edges: Sequence[float]
    ) -> CounterEnergy: ...


async def slot_energy(
    store: HistoryReader,
    device_id: int,
    name: str,
    resolution_s: int,
    since: float,
    until: float,
    edges: Sequence[float] | None = None,
) -> dict[float, float]:
    """Wh per slot start (multiples of `resolution_s`) for since <= slot < until: the
    rollups' deltas up to where they are folded, raw readings from there on.

    Given the report's bucket `edges` (ascending, from `since` to `until`), a store that
    sums per bucket itself (`Store.counter_energy`) does, and each sum is keyed by its
    bucket's start: the same totals per bucket for `energy.sum_into`, without reading a
    year of slots into Python."""
    if edges is not None and hasattr(store, "counter_energy"):
        summer = cast(EnergySummer, store)
        found = await summer.counter_energy("device", device_id, name, resolution_s, edges)
        return _per_bucket(found, edges, resolution_s)
    slots: dict[float, float] = {}
    raw_from = since
    if hasattr(store, "rollups") and hasattr(store, "rolled_up_until"):
        reader = cast(RollupReader, store)
        folded = await reader.rolled_up_until("device", device_id, name, resolution_s)
        if folded is not None:
            rows = await reader.rollups("device", device_id, name, resolution_s, since, until)
            end = min(until, folded)
            for row in rows:  # one row per slot: a year of hours is 8760 of them
                delta = row.delta
                if delta is not None and since <= row.start < end:
                    slots[row.start] = delta if delta > 0 else 0.0
            raw_from = max(since, folded)
    if raw_from < until:
        raw = await _from_history(store, device_id, name, resolution_s, raw_from, until)
        for start, wh in raw.items():
            slots[start] = slots.get(start, 0.0) + wh
    return slots


async def _from_history(
    store: HistoryReader, device_id: int, name: str, resolution_s: int, since: float, until: float
) -> dict[float, float]:
    """The rise between consecutive readings, put in the slot of the later one, as the
    rollups do (`store/folding.py`): a fall (a reset) counts nothing rather than negative
    energy. The readings of the slot before `since` are fetched too, so that the first rise
    is not lost."""
    points = await store.history("device", device_id, name, since - resolution_s, until)
    return _rises(points, resolution_s, since, until)


def _per_bucket(
    found: CounterEnergy, edges: Sequence[float], resolution_s: int
) -> dict[float, float]:
    """The store's sums per bucket, keyed by bucket start, with the raw readings' rises
    after the rollups added to their buckets (later in time, so added after, as slot by
    slot)."""
    sums = {edges[index]: wh for index, wh in sorted(found.sums.items())}
    for start, wh in _rises(found.raw, resolution_s, found.raw_from, edges[-1]).items():
        bucket = edges[bisect.bisect_right(edges, start) - 1]
        sums[bucket] = sums.get(bucket, 0.0) + wh
    return sums


def _rises(
    points: Sequence[tuple[float, float]], resolution_s: int, since: float, until: float
) -> dict[float, float]:
    """Each slot's rise between consecutive readings (a fall counts nothing)."""
    slots: dict[float, float] = {}
    previous: float | None = None
    for ts, value in points:
        start = float(math.floor(ts / resolution_s) * resolution_s)
        if previous is not None and since <= start < until and math.isfinite(value):
            slots[start] = slots.get(start, 0.0) + max(0.0, value - previous)
        previous = value
    return slots

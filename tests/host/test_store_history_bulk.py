"""History written in bulk (`Store.add_history`): one transaction, all points or none."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gem_envoy.host.store import HistorySeries, NotFoundError, Store, ValidationError
from tests.host.conftest import count

DAY = 86400.0


async def test_points_in_bulk_are_read_back_as_history(store: Store) -> None:
    device = await store.add_device("envoy", "enphase_envoy")
    zone = await store.add_zone(device.id, "Roof", "1")
    assert await store.latest_history("device", device.id) is None
    added = await store.add_history(
        [
            HistorySeries("device", device.id, "power", [(200.0, 2.0), (100.0, 1.5)]),
            HistorySeries("device", device.id, "energy", [(150.0, 7)]),
            HistorySeries("zone", zone.id, "power", [(120.0, 0.25)]),
        ]
    )
    assert added == 4
    assert await store.history("device", device.id, "power", 0) == [(100.0, 1.5), (200.0, 2.0)]
    assert await store.history("zone", zone.id, "power", 0) == [(120.0, 0.25)]
    assert await store.latest_history("device", device.id) == 200.0
    assert await store.latest_history("zone", zone.id) == 120.0


@pytest.mark.parametrize(
    "bad",
    [
        HistorySeries("device", 999, "power", [(1.0, 1.0)]),
        HistorySeries("device", 1, "no such name!", [(1.0, 1.0)]),
        HistorySeries("device", 1, "token", [(1.0, 1.0)]),
        HistorySeries("device", 1, "power", [(math.nan, 1.0)]),
        HistorySeries("device", 1, "power", [(1.0, math.inf)]),
        HistorySeries("device", 1, "power", [(1.0, True)]),
        HistorySeries("gateway", 1, "power", [(1.0, 1.0)]),
    ],
)
async def test_one_bad_point_adds_nothing(store: Store, db_path: Path, bad: HistorySeries) -> None:
    device = await store.add_device("envoy", "enphase_envoy")
    assert device.id == 1
    good = HistorySeries("device", device.id, "power", [(float(t), 1.0) for t in range(1000)])
    with pytest.raises((ValidationError, NotFoundError)):
        await store.add_history([good, bad])
    assert count(db_path, "attribute_history") == 0


async def test_a_year_of_five_minute_points_goes_in_quickly(store: Store) -> None:
    """What a backfill writes: 400 days of 5-minute points of 5 attributes, from a
    generator (never a list of them all), in one transaction."""
    device = await store.add_device("envoy", "enphase_envoy")
    start = time.time() - 400 * DAY
    steps = int(400 * DAY / 300)

    def series() -> Iterator[HistorySeries]:
        for name in ("a", "b", "c", "d", "e"):
            points = ((start + i * 300.0, float(i % 1000)) for i in range(steps))
            yield HistorySeries("device", device.id, name, list(points))

    began = time.perf_counter()
    added = await store.add_history(series())
    elapsed = time.perf_counter() - began
    assert added == 5 * steps
    assert await store.latest_history("device", device.id) == start + (steps - 1) * 300.0
    assert elapsed < 30, elapsed  # 6 to 7 s on a busy 2-core machine: SQLite's two indexes

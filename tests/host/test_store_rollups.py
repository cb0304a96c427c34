"""Rollups through the store: a pass folds complete buckets only, twice changes nothing, a
pass stopped after any batch resumes where it stopped, retention never drops what is not
folded, and deleting a device, zone or attribute deletes its rollups."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import (
    ROLLUP_RETENTION_KEY,
    HistorySeries,
    Rollup,
    Store,
    ValidationError,
    rollups,
    schema,
)

HOUR = 3600.0
DAY = 86400.0
NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC: a whole hour, for round bucket edges


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """The buckets and progress by series key, and the rows stored (by series id)."""
    queries = {
        "buckets": "SELECT * FROM rollup_buckets ORDER BY 1, 2, 3, 4, 5",
        "progress": "SELECT s.target_type, s.target_id, s.name, s.resolution, p.done_until,"
        " p.last_value FROM rollup_progress p JOIN rollup_series s ON s.id = p.series"
        " ORDER BY 1, 2, 3, 4",
        "stored buckets": "SELECT * FROM rollups ORDER BY 1, 2",
        "stored progress": "SELECT * FROM rollup_progress ORDER BY 1",
    }
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        conn.close()


async def two_days(store: Store, every_s: float = 30.0) -> int:
    """A device with power and a lifetime counter, a point every `every_s` for 2 days."""
    device = await store.add_device("envoy", "d")
    store.declare_counters({"energy_wh"})
    count = int(2 * DAY / every_s)
    stamps = [NOW - 2 * DAY + i * every_s for i in range(count)]
    power = [(t, float(i % 7)) for i, t in enumerate(stamps)]
    energy = [(t, 1e6 + i) for i, t in enumerate(stamps)]
    await store.add_history(
        [
            HistorySeries("device", device.id, "power_w", power),
            HistorySeries("device", device.id, "energy_wh", energy),
        ]
    )
    return device.id


async def test_a_pass_folds_complete_buckets_into_both_resolutions(store: Store) -> None:
    device = await two_days(store)
    written = await store.roll_up(NOW)
    five = await store.rollups("device", device, "power_w", 300, 0)
    hours = await store.rollups("device", device, "power_w", 3600, 0)
    # The last 5-minute bucket ends at NOW: it is complete only GRACE_S later.
    assert len(five) == 2 * 24 * 12 - 1
    assert len(hours) == 2 * 24 - 1
    assert written == 2 * (len(five) + len(hours))
    assert five[0] == Rollup(NOW - 2 * DAY, 10, 2.4, 0.0, 6.0, None)
    assert hours[0].count == 120 and hours[0].delta is None
    assert await store.rolled_up_until("device", device, "power_w", 300) == NOW - 300
    assert await store.rolled_up_until("device", device, "power_w", 3600) == NOW - HOUR
    energy = await store.rollups("device", device, "energy_wh", 3600, 0)
    assert energy[0].delta == 119.0  # the series' first point has no step before it
    assert {b.delta for b in energy[1:]} == {120.0}
    assert energy[1].maximum == 1e6 + 239  # the counter's value at the hour's end
    # Half-open windows: since <= start < until.
    window = await store.rollups("device", device, "power_w", 3600, NOW - 2 * HOUR, NOW - HOUR)
    assert [b.start for b in window] == [NOW - 2 * HOUR]


async def test_a_second_pass_writes_nothing_and_changes_no_row(store: Store, db_path: Path) -> None:
    await two_days(store)
    assert await store.roll_up(NOW) > 0
    before = rows(db_path)
    assert await store.roll_up(NOW) == 0
    assert await store.roll_up(NOW + 60) == 0  # no new bucket is complete yet
    assert rows(db_path) == before


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("stop_after", [1, 3, 7])
async def test_a_pass_stopped_after_a_batch_resumes_to_the_same_rows(
    store: Store, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_after: int
) -> None:
    monkeypatch.setattr(rollups, "BATCH_POINTS", 500)
    reference_path = tmp_path / "reference.db"
    async with await Store.open(reference_path, KeyRing.load_or_create(reference_path)) as other:
        await two_days(other)
        await other.roll_up(NOW)
    await two_days(store)
    real = rollups.fold_batch
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> tuple[int, bool]:
        # The batch after `stop_after` ones fails half-way: its transaction rolls back.
        nonlocal calls
        calls += 1
        result = real(*args, **kwargs)
        if calls > stop_after:
            raise Interrupted
        return result

    monkeypatch.setattr(rollups, "fold_batch", failing)
    with pytest.raises(Interrupted):
        await store.roll_up(NOW)
    partial_rows = rows(db_path)
    assert 0 < len(partial_rows["buckets"]) < len(rows(reference_path)["buckets"])
    monkeypatch.setattr(rollups, "fold_batch", real)
    await store.roll_up(NOW)
    assert rows(db_path) == rows(reference_path)


async def test_raw_points_go_after_retention_but_never_before_they_are_folded(
    store: Store,
) -> None:
    device = await two_days(store, every_s=300.0)
    assert await store.retention_days("history_retention_days") == 10
    later = NOW + 11 * DAY
    assert await store.prune_history(later) == 0  # nothing folded yet: everything stays
    await store.roll_up(NOW)
    # Folded up to NOW - 1 hour: the points of the last hour stay until a later pass.
    assert await store.prune_history(later) == 2 * (2 * 24 * 12 - 12)
    left = await store.history("device", device, "power_w", 0)
    assert [ts for ts, _ in left] == [NOW - HOUR + i * 300 for i in range(12)]
    await store.roll_up(NOW + DAY)
    assert await store.prune_history(later) == 24
    assert await store.history("device", device, "power_w", 0) == []
    # The rollups stay: the hourly ones forever, the 5-minute ones for their retention.
    assert await store.prune_rollups(NOW + 363 * DAY) == 0
    assert len(await store.rollups("device", device, "power_w", 300, 0)) == 2 * 24 * 12
    assert await store.prune_rollups(NOW + 367 * DAY) == 2 * 2 * 24 * 12
    assert await store.rollups("device", device, "power_w", 300, 0) == []
    assert len(await store.rollups("device", device, "power_w", 3600, 0)) == 48


async def test_five_minute_retention_is_a_setting(store: Store) -> None:
    device = await two_days(store, every_s=300.0)
    await store.roll_up(NOW)
    await store.set_setting(ROLLUP_RETENTION_KEY, "1")
    assert await store.retention_days(ROLLUP_RETENTION_KEY) == 1
    assert await store.prune_rollups(NOW) > 0
    kept = await store.rollups("device", device, "power_w", 300, 0)
    assert kept and kept[0].start >= NOW - DAY
    for bad in ("0", "-3", "forever", "nan"):
        with pytest.raises(ValidationError):
            await store.set_setting(ROLLUP_RETENTION_KEY, bad)


async def test_pruning_runs_in_bounded_jobs(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollups, "PRUNE_ROWS", 7)
    await two_days(store, every_s=300.0)
    await store.roll_up(NOW)
    assert await store.prune_history(NOW + 11 * DAY) == 2 * (2 * 24 * 12 - 12)


async def test_deleting_a_device_zone_or_attribute_deletes_its_rollups(
    store: Store, db_path: Path
) -> None:
    device = await two_days(store)
    zone = await store.add_zone(device, "roof")
    await store.set_attributes("device", device, {"power_w": 3}, history={"power_w"})
    await store.add_history([HistorySeries("zone", zone.id, "power_w", [(NOW - DAY, 1.0)])])
    await store.roll_up(NOW)
    assert await store.rollups("zone", zone.id, "power_w", 3600, 0)
    await store.delete_zone(zone.id)
    tables = rows(db_path)
    assert not [row for row in tables["buckets"] + tables["progress"] if row[0] == "zone"]
    assert_no_orphans(tables)
    await store.delete_attribute("device", device, "power_w")
    tables = rows(db_path)
    assert {row[2] for row in tables["buckets"] + tables["progress"]} == {"energy_wh"}
    assert_no_orphans(tables)
    await store.delete_device(device)
    assert all(not table for table in rows(db_path).values())


def assert_no_orphans(tables: dict[str, list[tuple[object, ...]]]) -> None:
    """Every stored bucket and progress row still has its series."""
    assert len(tables["stored buckets"]) == len(tables["buckets"])
    assert len(tables["stored progress"]) == len(tables["progress"])


async def test_rollup_arguments_are_checked(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    for resolution in (60, 0, True, "300"):
        with pytest.raises(ValidationError):
            await store.rollups("device", device.id, "power_w", resolution, 0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await store.rollups("device", device.id, "power_w", 300, float("nan"))
    assert await store.rolled_up_until("device", device.id, "power_w", 300) is None


async def test_version_4_adds_rollups_to_a_version_3_database_with_history(
    db_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = schema.migrations()
    assert known[3].name == "0004_rollups.sql"
    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:3])
        async with await Store.open(db_path, keyring) as store:
            device = await two_days(store, every_s=300.0)
    async with await Store.open(db_path, keyring) as store:
        assert await store.rolled_up_until("device", device, "power_w", 300) is None
        await store.roll_up(NOW)
        hours = await store.rollups("device", device, "power_w", 3600, 0)
        assert len(hours) == 47 and {b.count for b in hours} == {12}

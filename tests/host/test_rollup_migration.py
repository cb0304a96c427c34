"""Migration 0006 (compact rollups) on a database at version 5 with buckets: no bucket is
lost, the history and energy reads answer as before, folding goes on from where it stopped
to the same buckets as a database that never migrated, and deleting a zone still deletes
its rollups."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import astuple, is_dataclass
from pathlib import Path

import pytest

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import HistorySeries, Store, schema
from gem_envoy.host.store.folding import bucket_start, fold_points, merge
from gem_envoy.host.store.rollups import GRACE_S

HOUR = 3600.0
DAY = 86400.0
NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC
SERIES = (
    ("device", "power_w"),
    ("device", "energy_wh"),
    ("device", "soc_percent"),
    ("zone", "last_w"),
)


async def two_days(store: Store) -> tuple[int, int]:
    """A device's power (whole watts), lifetime counter (reset once) and a fractional charge
    every 30 s, and a zone's power every 5 minutes, for 2 days."""
    device = (await store.add_device("envoy", "d")).id
    zone = (await store.add_zone(device, "roof")).id
    store.declare_counters({"energy_wh"})
    stamps = [NOW - 2 * DAY + 30 * i + 0.137 for i in range(5760)]
    energy = [(t, (1e6 if i < 3000 else 0.0) + 3 * i) for i, t in enumerate(stamps)]
    await store.add_history(
        [
            HistorySeries(
                "device", device, "power_w", [(t, i * 37 % 4001) for i, t in enumerate(stamps)]
            ),
            HistorySeries("device", device, "energy_wh", energy),
            HistorySeries(
                "device", device, "soc_percent", [(t, 50 + i % 9 / 7) for i, t in enumerate(stamps)]
            ),
            HistorySeries(
                "zone", zone, "last_w", [(t, i % 350) for i, t in enumerate(stamps[::10])]
            ),
        ]
    )
    return device, zone


async def answers(store: Store, device: int, zone: int) -> dict[str, object]:
    """What the history and energy APIs read of the rollups."""
    found: dict[str, object] = {}
    for target_type, name in SERIES:
        target = device if target_type == "device" else zone
        for resolution in (300, 3600):
            key = f"{name} {resolution}"
            found[f"buckets {key}"] = await store.rollups(target_type, target, name, resolution, 0)
            found[f"chart {key}"] = await store.rolled_up_history(
                target_type, target, name, resolution, NOW - 2 * DAY, NOW
            )
            found[f"until {key}"] = await store.rolled_up_until(
                target_type, target, name, resolution
            )
    edges = [NOW - 2 * DAY + 6 * HOUR * n for n in range(9)]
    found["energy"] = await store.counter_energy("device", device, "energy_wh", 3600, edges)
    return found


def fold_as_version_5(db: Path, until: float) -> None:
    """Fold every series' points before `until` as the code of version 5 did (the same rules,
    `folding`), into its tables: a mean per bucket, the hours merged from the 5-minute
    buckets as read back, progress by series key."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        keys = conn.execute(
            "SELECT DISTINCT target_type, target_id, name FROM attribute_history"
        ).fetchall()
        for key in keys:
            points = conn.execute(
                "SELECT ts, value FROM attribute_history WHERE target_type = ? AND target_id = ?"
                " AND name = ? AND ts < ? ORDER BY ts",
                (*key, until),
            ).fetchall()
            five, last = fold_points(points, 300, key[2] == "energy_wh", None)
            hours_until = bucket_start(until, 3600)
            hours = merge([b for b in five if b.start < hours_until], 3600)
            for resolution, buckets, done, value in (
                (300, five, until, last),
                (3600, hours, hours_until, None),
            ):
                conn.executemany(
                    "INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*key, resolution, *astuple(b)) for b in buckets],
                )
                conn.execute(
                    "INSERT INTO rollup_progress VALUES (?, ?, ?, ?, ?, ?)",
                    (*key, resolution, done, value),
                )
    finally:
        conn.close()


def same(left: object, right: object) -> bool:
    """Equal, floats within a rounding of their last bits: a bucket's mean is now its total
    over its count (an hour's was the 5-minute means weighed by their counts)."""
    if is_dataclass(left) and is_dataclass(right):
        return same(astuple(left), astuple(right))  # type: ignore[arg-type]
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-12)
    return left == right


async def test_a_version_5_database_keeps_every_bucket_and_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folded_until = NOW - DAY + 1200  # a day and a bit folded, the rest raw
    fresh = tmp_path / "fresh.db"
    async with await Store.open(fresh, KeyRing.load_or_create(fresh)) as store:
        device, zone = await two_days(store)
        await store.roll_up(folded_until + GRACE_S)
        expected = await answers(store, device, zone)
        await store.roll_up(NOW + 600)
        expected_later = await answers(store, device, zone)

    known = schema.migrations()
    assert known[5].name == "0006_rollup_series.sql"
    old = tmp_path / "old.db"
    keyring = KeyRing.load_or_create(old)
    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:5])
        async with await Store.open(old, keyring) as store:
            await two_days(store)
    fold_as_version_5(old, folded_until)

    async with await Store.open(old, keyring) as store:
        store.declare_counters({"energy_wh"})
        migrated = await answers(store, device, zone)
        assert len(migrated["buckets power_w 300"]) == 24 * 12 + 4  # type: ignore[arg-type]
        assert same(migrated, expected)
        await store.roll_up(NOW + 600)
        assert same(await answers(store, device, zone), expected_later)


async def test_deleting_a_zone_after_the_migration_deletes_its_rollups(
    db_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = schema.migrations()
    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:5])
        async with await Store.open(db_path, keyring) as store:
            device, zone = await two_days(store)
    fold_as_version_5(db_path, NOW)
    async with await Store.open(db_path, keyring) as store:
        assert await store.rollups("zone", zone, "last_w", 300, 0)
        await store.delete_zone(zone)
        assert await store.rollups("device", device, "power_w", 300, 0)
    conn = sqlite3.connect(db_path)
    try:
        left = conn.execute(
            "SELECT COUNT(*) FROM rollup_series s JOIN rollups r ON r.series = s.id"
            " WHERE s.target_type = 'zone'"
        ).fetchone()[0]
        orphans = conn.execute(
            "SELECT (SELECT COUNT(*) FROM rollups WHERE series NOT IN"
            " (SELECT id FROM rollup_series)) + (SELECT COUNT(*) FROM rollup_progress"
            " WHERE series NOT IN (SELECT id FROM rollup_series))"
        ).fetchone()[0]
    finally:
        conn.close()
    assert (left, orphans) == (0, 0)

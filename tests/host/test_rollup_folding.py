"""The folding rules of rollups (`store/folding.py`), and a property test of a counter's
energy through the real SQL (`store/rollups.py`): random series with resets and gaps, folded
in small batches over several passes, lose and add nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gem_envoy.host.store import Rollup, rollups
from gem_envoy.host.store.folding import bucket_start, fold_points, merge
from gem_envoy.host.store.schema import connect_writer


def test_power_gets_mean_min_max_count_per_bucket() -> None:
    points = [(0.0, 10.0), (100.0, 20.0), (299.9, 30.0), (300.0, 5.0), (1000.0, 7.0)]
    buckets, last = fold_points(points, 300, counter=False, previous=None)
    assert buckets == [
        Rollup(0.0, 3, 20.0, 10.0, 30.0, None),
        Rollup(300.0, 1, 5.0, 5.0, 5.0, None),
        Rollup(900.0, 1, 7.0, 7.0, 7.0, None),  # no bucket for the gap
    ]
    assert last == 7.0


def test_a_counter_step_belongs_to_the_bucket_of_its_later_point() -> None:
    points = [(290.0, 100.0), (310.0, 104.0), (590.0, 110.0), (1500.0, 150.0)]
    buckets, _ = fold_points(points, 300, counter=True, previous=None)
    assert [(b.start, b.delta) for b in buckets] == [(0.0, 0.0), (300.0, 10.0), (1500.0, 40.0)]


def test_a_counter_reset_is_neither_a_dip_nor_a_spike() -> None:
    # A reset to zero, and a reboot that reads low once before the counter goes on.
    points = [(0.0, 1000.0), (60.0, 1010.0), (120.0, 0.0), (180.0, 5.0), (240.0, 995.0)]
    [bucket], last = fold_points(points, 300, counter=True, previous=990.0)
    assert bucket.delta == 20.0 + 5.0 + 990.0  # climbs counted; the falls count 0
    assert last == 995.0
    glitch = [(0.0, 1000.0), (60.0, 1010.0), (120.0, 1009.0), (180.0, 1011.0)]
    [bucket], _ = fold_points(glitch, 300, counter=True, previous=None)
    assert bucket.delta == 12.0  # the 1 Wh dip is climbed back once: at most the dip itself


def test_the_first_step_of_a_batch_is_measured_from_the_previous_one() -> None:
    [bucket], _ = fold_points([(600.0, 50.0)], 300, counter=True, previous=45.0)
    assert bucket.delta == 5.0
    [bucket], _ = fold_points([(600.0, 50.0)], 300, counter=True, previous=None)
    assert bucket.delta == 0.0


def test_hourly_buckets_merged_from_five_minute_ones_equal_folding_the_points() -> None:
    points = [(t * 37.0, (t * 7919 % 1000) / 7.0) for t in range(400)]
    five, _ = fold_points(points, 300, counter=True, previous=None)
    direct, _ = fold_points(points, 3600, counter=True, previous=None)
    merged = merge(five, 3600)
    assert [(b.start, b.count, b.minimum, b.maximum) for b in merged] == [
        (b.start, b.count, b.minimum, b.maximum) for b in direct
    ]
    for one, other in zip(merged, direct, strict=True):
        assert one.mean == pytest.approx(other.mean)
        assert one.delta == pytest.approx(other.delta)


# Property: random counter series with resets and gaps, through the SQL in tiny batches.

SERIES = ("device", 1, "energy_wh")
steps = st.lists(
    st.tuples(
        # Seconds to the next point: polls, a missed minute, or an outage of up to 3 days.
        st.one_of(st.integers(1, 120), st.integers(120, 3600), st.integers(3600, 3 * 86400)),
        st.booleans(),  # a reset (or a reboot reading low)
        st.floats(0, 5000),
    ),
    min_size=1,
    max_size=150,
)


def counter_series(
    start: float, first: float, moves: list[tuple[int, bool, float]]
) -> tuple[list[tuple[float, float]], float]:
    """Points and the true energy: an increment is energy; a reset drops the counter to a
    fraction of itself (`amount` / 5000) and carries none."""
    ts, value, energy = start, first, 0.0
    points = [(ts, value)]
    for gap, reset, amount in moves:
        ts += gap
        if reset:
            value *= amount / 5000
        else:
            value += amount
            energy += amount
        points.append((ts, value))
    return points, energy


@contextmanager
def database(folder: Path) -> Iterator[sqlite3.Connection]:
    conn = connect_writer(folder / "rollups.db")
    conn.execute("INSERT INTO devices (name, driver, created_at) VALUES ('envoy', 'd', 0)")
    try:
        yield conn
    finally:
        conn.close()


def fold(conn: sqlite3.Connection, until: float) -> None:
    """One pass over the series, a transaction per batch, as the store runs it."""
    finished = False
    while not finished:
        conn.execute("BEGIN IMMEDIATE")
        _, finished = rollups.fold_batch(conn, SERIES, counter=True, until=until)
        conn.execute("COMMIT")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    with database(tmp_path_factory.mktemp("rollups")) as conn:
        yield conn


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.floats(1.6e9, 1.9e9),
    first=st.floats(0, 1e8),
    moves=steps,
    passes=st.lists(st.floats(0, 1), max_size=4),
    batch=st.integers(1, 40),
)
def test_bucket_deltas_add_up_to_the_true_energy_and_none_is_negative(
    shared: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
    start: float,
    first: float,
    moves: list[tuple[int, bool, float]],
    passes: list[float],
    batch: int,
) -> None:
    conn = shared
    for table in ("attribute_history", "rollup_series", "rollups", "rollup_progress"):
        conn.execute(f"DELETE FROM {table}")
    points, energy = counter_series(start, first, moves)
    conn.executemany(
        "INSERT INTO attribute_history VALUES (?, ?, ?, ?, ?)",
        [(*SERIES, ts, value) for ts, value in points],
    )
    monkeypatch.setattr(rollups, "BATCH_POINTS", batch)
    end = points[-1][0] + 3600  # every bucket complete at the last pass
    span = end - start
    # Passes stopping anywhere (a pass interrupted, the next resuming), then the last one.
    for fraction in sorted(passes):
        fold(conn, bucket_start(start + fraction * span, 300))
    fold(conn, bucket_start(end, 3600))
    for resolution in (300, 3600):
        deltas = [
            row[0]
            for row in conn.execute(
                "SELECT delta FROM rollup_buckets WHERE resolution = ?", (resolution,)
            )
        ]
        assert all(delta >= 0 for delta in deltas)
        assert sum(deltas) == pytest.approx(energy, abs=1.0)
    counts = conn.execute("SELECT resolution, SUM(count) FROM rollup_buckets GROUP BY resolution")
    assert dict(counts.fetchall()) == {300: len(points), 3600: len(points)}

"""A bucket stored compactly (`bucket_rows`) reads back through `rollup_buckets` as it was
folded: exactly for whole values (what the driver reports), within the last bit otherwise;
and whole values store whole totals, a bucket of one value no minimum or maximum."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gem_envoy.host.store import schema
from gem_envoy.host.store.bucket_rows import bucket_row
from gem_envoy.host.store.folding import fold_points
from gem_envoy.host.store.models import Rollup


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("rows") / "rows.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, Path(path))
    conn.execute("INSERT INTO rollup_series VALUES (1, 'device', 1, 'power_w', 300)")
    yield conn
    conn.close()


def stored(conn: sqlite3.Connection, bucket: Rollup) -> tuple[tuple[object, ...], Rollup]:
    """The row written for `bucket`, and the bucket read back."""
    conn.execute("DELETE FROM rollups")
    conn.execute("INSERT INTO rollups VALUES (1, ?, ?, ?, ?, ?, ?)", bucket_row(bucket))
    row = conn.execute("SELECT * FROM rollups").fetchone()
    back = conn.execute(
        "SELECT start, count, mean, minimum, maximum, delta FROM rollup_buckets"
    ).fetchone()
    return row, Rollup(*back)


whole = st.integers(min_value=-100_000_000, max_value=100_000_000)


@settings(deadline=None)
@given(st.lists(whole, min_size=1, max_size=2000), st.booleans())
def test_whole_values_read_back_exactly_from_whole_totals(
    conn: sqlite3.Connection, values: list[int], counter: bool
) -> None:
    [bucket], _ = fold_points([(600.0, float(v)) for v in values], 300, counter, None)
    row, back = stored(conn, bucket)
    assert back == bucket
    total = row[3]
    assert isinstance(total, float) and total == sum(values)
    if len(set(values)) == 1:
        assert row[4:6] == (None, None)


@settings(deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9), min_size=1, max_size=500))
def test_fractional_values_read_back_within_the_last_bit(
    conn: sqlite3.Connection, values: list[float]
) -> None:
    [bucket], _ = fold_points([(600.0, v) for v in values], 300, False, None)
    _, back = stored(conn, bucket)
    for got, want in zip(astuple(back), astuple(bucket), strict=True):
        assert got == want or math.isclose(got, want, rel_tol=1e-9)


def test_a_bucket_of_one_whole_value_stores_that_value_alone(conn: sqlite3.Connection) -> None:
    row, back = stored(conn, Rollup(900.0, 1, 271.0, 271.0, 271.0, None))
    assert row == (1, 900.0, 1, 271.0, None, None, None)
    assert back == Rollup(900.0, 1, 271.0, 271.0, 271.0, None)

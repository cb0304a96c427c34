"""SQL for rollups: raw history folded into 5-minute and hourly buckets (the rules are in
`folding`), read back, and pruned by age.

A pass folds each series forward from where its progress row says it stopped, in batches of
at most `BATCH_POINTS` raw points, each batch one writer job: its 5-minute buckets, the hourly
buckets they complete, and both progress rows, in one transaction. A crash (even SIGKILL)
therefore leaves a batch with its progress or neither, and the next pass goes on from the
last batch committed; nothing is folded twice (and a bucket written again would replace
itself, the key being the bucket's). Only complete buckets are folded: those whose end is
`GRACE_S` in the past, so that a point stamped a little before it is written (a live feed's
window mean) still finds its bucket open. A point written behind a series' progress (an
import of older history) is not folded.

Buckets are stored by series id (`rollup_series`: one resolution of one attribute) in the
compact rows of `bucket_rows`, and read back through the view `rollup_buckets`, by series key.

Each function runs on a database thread inside the caller's transaction.
"""

from __future__ import annotations

import math
import sqlite3

from .bucket_rows import bucket_row
from .devices import check_target
from .folding import bucket_start, fold_points, merge
from .models import Rollup

FIVE_MINUTES = 300
HOUR = 3600
RESOLUTIONS = (FIVE_MINUTES, HOUR)
GRACE_S = 300.0
# Raw points per batch: a few milliseconds of the writer's time, so polls never wait long.
BATCH_POINTS = 5000
# Rows per pruning job, for the same reason.
PRUNE_ROWS = 10000

Series = tuple[str, int, str]  # target type, target id, attribute name

_KEY = "target_type = ? AND target_id = ? AND name = ?"


def complete_until(now: float) -> float:
    """The end of the last 5-minute bucket that is complete at `now`."""
    return bucket_start(now - GRACE_S, FIVE_MINUTES)


def list_series(conn: sqlite3.Connection) -> list[Series]:
    """Every series with raw points, a few index seeks each (not a scan of every point)."""
    found: list[Series] = []
    select = "SELECT target_type, target_id, name FROM attribute_history"
    order = " ORDER BY target_type, target_id, name LIMIT 1"
    row = conn.execute(select + order).fetchone()
    while row is not None:
        found.append((row[0], row[1], row[2]))
        # The next name of this target, else the next target of this type, else the next
        # type: each a seek on the series index, where one row-value comparison would scan.
        for where, args in (
            (" WHERE target_type = ? AND target_id = ? AND name > ?", row),
            (" WHERE target_type = ? AND target_id > ?", row[:2]),
            (" WHERE target_type > ?", row[:1]),
        ):
            row = conn.execute(select + where + order, args).fetchone()
            if row is not None:
                break
    return found


def fold_batch(
    conn: sqlite3.Connection, series: Series, counter: bool, until: float
) -> tuple[int, bool]:
    """Fold the series' next batch of raw points before `until` (a 5-minute boundary).
    Returns how many buckets were written and whether the series is now folded up to `until`."""
    progress = _progress(conn, series, FIVE_MINUTES)
    if progress is None:
        first = conn.execute(
            f"SELECT MIN(ts) FROM attribute_history WHERE {_KEY}", series
        ).fetchone()[0]
        if first is None:
            return 0, True
        done, previous = bucket_start(first, FIVE_MINUTES), None
    else:
        done, previous = progress
    if done >= until:
        return 0, True
    points, reached = _next_points(conn, series, done, until)
    buckets, previous = fold_points(points, FIVE_MINUTES, counter, previous)
    five = _series_id(conn, series, FIVE_MINUTES)
    _write(conn, five, buckets)
    _set_progress(conn, five, reached, previous)
    hourly = _fold_hours(conn, series, bucket_start(done, HOUR), bucket_start(reached, HOUR))
    return len(buckets) + hourly, reached >= until


def _next_points(
    conn: sqlite3.Connection, series: Series, done: float, until: float
) -> tuple[list[tuple[float, float]], float]:
    """The points from `done` on, whole buckets of them, at most BATCH_POINTS unless one
    bucket holds more; and where they end (the next batch's start)."""
    rows = conn.execute(
        f"SELECT ts, value FROM attribute_history WHERE {_KEY} AND ts >= ? AND ts < ?"
        " ORDER BY ts LIMIT ?",
        (*series, done, until, BATCH_POINTS + 1),
    ).fetchall()
    if len(rows) <= BATCH_POINTS:
        return rows, until  # everything left: the gap after the last point is folded too
    cut = bucket_start(rows[BATCH_POINTS][0], FIVE_MINUTES)
    if cut > done:
        return [row for row in rows if row[0] < cut], cut
    # One bucket with more points than a batch (a feed writing many a second): take it whole.
    cut = done + FIVE_MINUTES
    whole = conn.execute(
        f"SELECT ts, value FROM attribute_history WHERE {_KEY} AND ts >= ? AND ts < ? ORDER BY ts",
        (*series, done, cut),
    ).fetchall()
    return whole, cut


def _fold_hours(conn: sqlite3.Connection, series: Series, first: float, until: float) -> int:
    """Fold the 5-minute buckets of the complete hours before `until` that are not yet."""
    progress = _progress(conn, series, HOUR)
    done = first if progress is None else progress[0]
    if done >= until:
        if progress is None:
            _set_progress(conn, _series_id(conn, series, HOUR), done, None)
        return 0
    rows = conn.execute(
        "SELECT start, count, mean, minimum, maximum, delta FROM rollup_buckets"
        f" WHERE {_KEY} AND resolution = ? AND start >= ? AND start < ? ORDER BY start",
        (*series, FIVE_MINUTES, done, until),
    )
    buckets = merge((Rollup(*row) for row in rows), HOUR)
    hourly = _series_id(conn, series, HOUR)
    _write(conn, hourly, buckets)
    _set_progress(conn, hourly, until, None)
    return len(buckets)


def _series_id(conn: sqlite3.Connection, series: Series, resolution: int) -> int:
    """The id of the series' buckets of `resolution`, given one if they have none yet."""
    key = (*series, resolution)
    conn.execute(
        "INSERT OR IGNORE INTO rollup_series (target_type, target_id, name, resolution)"
        " VALUES (?, ?, ?, ?)",
        key,
    )
    row = conn.execute(f"SELECT id FROM rollup_series WHERE {_KEY} AND resolution = ?", key)
    series_id: int = row.fetchone()[0]
    return series_id


def _progress(
    conn: sqlite3.Connection, series: Series, resolution: int
) -> tuple[float, float | None] | None:
    row = conn.execute(
        "SELECT p.done_until, p.last_value FROM rollup_series s"
        " JOIN rollup_progress p ON p.series = s.id"
        " WHERE s.target_type = ? AND s.target_id = ? AND s.name = ? AND s.resolution = ?",
        (*series, resolution),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def _set_progress(
    conn: sqlite3.Connection, series_id: int, done: float, last_value: float | None
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO rollup_progress (series, done_until, last_value) VALUES (?, ?, ?)",
        (series_id, done, last_value),
    )


def _write(conn: sqlite3.Connection, series_id: int, buckets: list[Rollup]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO rollups (series, start, count, total, minimum, maximum, delta)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(series_id, *bucket_row(bucket)) for bucket in buckets],
    )


def read_rollups(
    conn: sqlite3.Connection,
    target: tuple[str, int],
    name: str,
    resolution: int,
    since: float,
    until: float | None,
) -> list[Rollup]:
    check_target(conn, *target)
    rows = conn.execute(
        "SELECT start, count, mean, minimum, maximum, delta FROM rollup_buckets"
        f" WHERE {_KEY} AND resolution = ? AND start >= ? AND (? IS NULL OR start < ?)"
        " ORDER BY start",
        (*target, name, resolution, since, until, until),
    )
    return [Rollup(*row) for row in rows]


def rolled_up_history(
    conn: sqlite3.Connection,
    target: tuple[str, int],
    name: str,
    resolution: int,
    since: float,
    until: float | None,
) -> list[tuple[float, float]]:
    """A chart's points over since <= ts <= until: each bucket one point at its middle (its
    mean; a counter's maximum, its reading at the bucket's end), then the raw points from
    where the buckets end. Without buckets, the raw points alone."""
    check_target(conn, *target)
    progress = _progress(conn, (*target, name), resolution)
    done = -math.inf if progress is None else progress[0]
    half = resolution / 2
    points: list[tuple[float, float]] = conn.execute(
        "SELECT start + ?, CASE WHEN delta IS NULL THEN mean ELSE maximum END"
        " FROM rollup_buckets"
        f" WHERE {_KEY} AND resolution = ? AND start >= ? AND start <= ? ORDER BY start",
        (
            half,
            *target,
            name,
            resolution,
            since - half,
            math.inf if until is None else until - half,
        ),
    ).fetchall()
    points += conn.execute(
        f"SELECT ts, value FROM attribute_history WHERE {_KEY} AND ts >= ?"
        " AND (? IS NULL OR ts <= ?) ORDER BY ts",
        (*target, name, max(since, done), until, until),
    ).fetchall()
    return points


def rolled_up_until(
    conn: sqlite3.Connection, target: tuple[str, int], name: str, resolution: int
) -> float | None:
    """Where the series' buckets of `resolution` end (None: nothing folded yet)."""
    check_target(conn, *target)
    progress = _progress(conn, (*target, name), resolution)
    return None if progress is None else progress[0]


def delete_rollups(conn: sqlite3.Connection, target: tuple[str, int], name: str) -> None:
    """Forget an attribute's rollups with its history (`delete_attribute`): its series, whose
    trigger deletes their buckets and progress."""
    conn.execute(f"DELETE FROM rollup_series WHERE {_KEY}", (*target, name))


def prune_raw(conn: sqlite3.Connection, cutoff: float) -> int:
    """Delete up to PRUNE_ROWS raw points older than `cutoff` whose hour is folded (hourly
    progress is never ahead of 5-minute progress): no point goes before it is rolled up."""
    return conn.execute(
        "DELETE FROM attribute_history WHERE rowid IN (SELECT h.rowid FROM attribute_history h"
        " JOIN rollup_series s ON s.target_type = h.target_type"
        " AND s.target_id = h.target_id AND s.name = h.name AND s.resolution = ?"
        " JOIN rollup_progress p ON p.series = s.id"
        " WHERE h.ts < ? AND h.ts < p.done_until LIMIT ?)",
        (HOUR, cutoff, PRUNE_ROWS),
    ).rowcount


def prune_five_minutes(conn: sqlite3.Connection, cutoff: float) -> int:
    """Delete up to PRUNE_ROWS 5-minute buckets older than `cutoff` whose hour is folded.

    Series by series (their hourly progress, CROSS JOIN keeping it the outer loop), each
    series' old buckets found by the primary key's prefix: no index by age is kept, as it
    would repeat every bucket's key."""
    return conn.execute(
        "DELETE FROM rollups WHERE (series, start) IN (SELECT r.series, r.start"
        " FROM rollup_series h JOIN rollup_progress p ON p.series = h.id"
        " JOIN rollup_series f ON f.target_type = h.target_type"
        " AND f.target_id = h.target_id AND f.name = h.name AND f.resolution = ?"
        " CROSS JOIN rollups r ON r.series = f.id"
        " WHERE h.resolution = ? AND r.start < ? AND r.start < p.done_until LIMIT ?)",
        (FIVE_MINUTES, HOUR, cutoff, PRUNE_ROWS),
    ).rowcount

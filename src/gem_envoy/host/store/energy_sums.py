"""SQL for the energy reports: a lifetime counter's rollup deltas summed per report bucket
in SQLite, in one read, with the raw readings after where its rollups end.

A year of months is 8,760 hourly rows per counter: summed by SQLite over the primary key's
ranges they cost a few milliseconds, where reading them as `Rollup` rows into Python cost
40-50 ms per counter (the 1-year energy query's time). The rules are those of
`host/energy_source.py` (a bucket's energy is the deltas of the slots starting in it, a
negative delta counts 0, a bucket without any is None), and one read job is one snapshot, so
the rollups and the raw points never disagree about where the folding stopped.

Runs on a database thread inside the caller's transaction.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from .attributes import history
from .devices import check_target
from .rollups import rolled_up_until


class CounterEnergy(NamedTuple):
    sums: dict[int, float]
    """Bucket index -> the rollups' energy in it (absent: no rollup row in it)."""
    raw_from: float
    """Where the rollups end and raw readings take over (the first edge without rollups)."""
    raw: list[tuple[float, float]]
    """The raw readings from one slot before `raw_from` to the last edge (inclusive)."""


def counter_energy(
    conn: sqlite3.Connection,
    target: tuple[str, int],
    name: str,
    resolution: int,
    edges: Sequence[float],
) -> CounterEnergy:
    """The counter's energy in the buckets between consecutive `edges` (ascending)."""
    check_target(conn, *target)
    since, until = edges[0], edges[-1]
    folded = rolled_up_until(conn, target, name, resolution)
    sums: dict[int, float] = {}
    if folded is not None:
        spans = json.dumps([[lo, min(hi, folded)] for lo, hi in itertools.pairwise(edges)])
        rows = conn.execute(
            "WITH b(i, lo, hi) AS (SELECT key, json_extract(value, '$[0]'),"
            " json_extract(value, '$[1]') FROM json_each(?))"
            " SELECT b.i, SUM(MAX(r.delta, 0.0)) FROM b JOIN rollup_buckets r"
            " ON r.target_type = ? AND r.target_id = ? AND r.name = ? AND r.resolution = ?"
            " AND r.start >= b.lo AND r.start < b.hi AND r.delta IS NOT NULL GROUP BY b.i",
            (spans, *target, name, resolution),
        )
        sums = {int(i): float(wh) for i, wh in rows}
    raw_from = since if folded is None else max(since, folded)
    raw = history(conn, target, name, raw_from - resolution, until) if raw_from < until else []
    return CounterEnergy(sums, raw_from, raw)

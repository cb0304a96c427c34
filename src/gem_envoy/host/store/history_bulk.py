"""SQL for history written in bulk: past points generated or imported at once (a demo's past
days, a backfill from a device's own records), rather than one poll's values at a time.

Each function runs on a database thread inside the caller's transaction. The points are
checked here, on the thread, as they stream into `executemany`: a bad one raises, which rolls
the whole transaction back, so a bulk write lands entirely or not at all.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from ..secrets import is_secure
from .devices import check_target
from .models import ValidationError
from .validate import check_attribute_name, check_id, check_target_type


class HistorySeries(NamedTuple):
    """One attribute's points, (timestamp in seconds, value), in any order."""

    target_type: str
    target_id: int
    name: str
    points: Sequence[tuple[float, float]]


def add_history(conn: sqlite3.Connection, series: Iterable[HistorySeries]) -> int:
    """Insert every point of every series; returns how many."""
    rows = _rows(conn, series)
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO attribute_history (target_type, target_id, name, ts, value)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return conn.total_changes - before


def _rows(
    conn: sqlite3.Connection, series: Iterable[HistorySeries]
) -> Iterator[tuple[str, int, str, float, float]]:
    checked: set[tuple[str, int]] = set()
    for one in series:
        target = (check_target_type(one.target_type), check_id("target id", one.target_id))
        if target not in checked:  # one lookup per device or zone, not per series
            check_target(conn, *target)
            checked.add(target)
        name = check_attribute_name(one.name)
        if is_secure(name):  # never a secret's value in clear, as for polled values
            raise ValidationError(f"{name!r} is secure and has no history")
        for ts, value in one.points:
            yield (*target, name, _finite("timestamp", ts), _finite(name, value))


def _finite(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"history {what} must be a finite number, not {value!r}")
    return float(value)


def latest_history(conn: sqlite3.Connection, target: tuple[str, int]) -> float | None:
    """The time of the newest point of any of the target's attributes, None without any."""
    check_target(conn, *target)
    row = conn.execute(
        "SELECT MAX(ts) FROM attribute_history WHERE target_type = ? AND target_id = ?", target
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])

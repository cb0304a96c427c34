"""SQL for attributes and their history. Each function runs on a database thread inside
the caller's transaction; values were checked by `validate`, names of secure attributes
are encrypted here, on the thread, so plaintext never reaches SQLite."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Sequence
from typing import NamedTuple

from ..secrets import KeyRing, SecretError, is_secure
from .codec import decode, encode, history_point, seal, unseal
from .devices import check_target
from .models import Attribute, AttributeValue, NotFoundError
from .rollups import delete_rollups

_KEY = "target_type = ? AND target_id = ? AND name = ?"


class AttributeWrite(NamedTuple):
    """One device's or zone's values, checked, as `set_attributes` takes them: None deletes
    a value; the names in `history` are charted; `points` are (name, timestamp, value)."""

    target: tuple[str, int]
    values: dict[str, AttributeValue | None]
    history: Collection[str] = ()
    points: Sequence[tuple[str, float, float]] = ()


def write_all(
    conn: sqlite3.Connection, keyring: KeyRing, writes: Sequence[AttributeWrite]
) -> dict[int, NotFoundError]:
    """Apply `writes` in order, inside the caller's one transaction (a poll's device values,
    its zones' and its health together). A device or zone deleted meanwhile is skipped, not
    fatal to the others: its error comes back by the index of each of its writes."""
    missing = {}
    for merged, indexes in _merged(writes):
        try:
            check_target(conn, *merged.target)
        except NotFoundError as exc:
            missing.update(dict.fromkeys(indexes, exc))
            continue
        _set_checked(conn, keyring, merged)
    return missing


def _merged(writes: Sequence[AttributeWrite]) -> list[tuple[AttributeWrite, list[int]]]:
    """The writes to one target with the same charted names as one write (a later value of
    a name wins, points add up), with the indexes of the writes it stands for: a poll's
    device values and its health then cost one lookup and one statement of each kind."""
    merged: dict[tuple[tuple[str, int], frozenset[str]], tuple[AttributeWrite, list[int]]] = {}
    for index, write in enumerate(writes):
        key = (write.target, frozenset(write.history))
        if key not in merged:
            merged[key] = (write, [index])
            continue
        earlier, indexes = merged[key]
        values = earlier.values | write.values
        points = [*earlier.points, *write.points]
        merged[key] = (AttributeWrite(write.target, values, write.history, points), indexes)
        indexes.append(index)
    return list(merged.values())


def set_attributes(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    target: tuple[str, int],
    values: dict[str, AttributeValue | None],
    history: Collection[str],
    points: Sequence[tuple[str, float, float]] = (),
) -> None:
    check_target(conn, *target)
    _set_checked(conn, keyring, AttributeWrite(target, values, history, points))


def _set_checked(conn: sqlite3.Connection, keyring: KeyRing, write: AttributeWrite) -> None:
    """One target's values in three statements at most (history rows, deletions, upserts),
    each an executemany, whatever the number of values."""
    target, now = write.target, time.time()
    present = {name: value for name, value in write.values.items() if value is not None}
    charted = [
        (*target, name, now, point)
        for name, value in present.items()
        if name in write.history and (point := history_point(name, value)) is not None
    ]
    conn.executemany(
        "INSERT INTO attribute_history (target_type, target_id, name, ts, value)"
        " VALUES (?, ?, ?, ?, ?)",
        [(*target, name, ts, value) for name, ts, value in write.points] + charted,
    )
    # A value that is gone (e.g. a driver no longer reports it) is deleted; its past stays
    # charted.
    gone = [(*target, name) for name, value in write.values.items() if value is None]
    if gone:
        conn.executemany(f"DELETE FROM attributes WHERE {_KEY}", gone)
    if present:
        conn.executemany(
            "INSERT INTO attributes (target_type, target_id, name, type, value,"
            " previous_type, previous_value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (target_type, target_id, name) DO UPDATE SET"
            " type = excluded.type, value = excluded.value,"
            " previous_type = excluded.previous_type,"
            " previous_value = excluded.previous_value, updated_at = excluded.updated_at",
            _upsert_rows(conn, keyring, target, present, now),
        )


def _upsert_rows(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    target: tuple[str, int],
    values: dict[str, AttributeValue],
    now: float,
) -> list[tuple[object, ...]]:
    """The attributes rows to upsert, each with its previous value: the stored one when the
    value changes (as stored: a secure one stays encrypted), else the one kept before. The
    stored rows are read in one query for the whole target."""
    stored = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT name, type, value, previous_type, previous_value FROM attributes"
            " WHERE target_type = ? AND target_id = ?",
            target,
        )
    }
    rows: list[tuple[object, ...]] = []
    for name, value in values.items():
        kind, text = encode(value)
        old = stored.get(name)
        previous_type, previous_value = (None, None) if old is None else (old[2], old[3])
        if old is not None and _changed(keyring, name, old[0], old[1], kind, text):
            previous_type, previous_value = old[0], old[1]
        sealed = seal(keyring, name, text)
        rows.append((*target, name, kind, sealed, previous_type, previous_value, now))
    return rows


def _changed(
    keyring: KeyRing, name: str, old_kind: str, old_sealed: str, kind: str, text: str
) -> bool:
    if old_kind != kind:
        return True
    try:
        return unseal(keyring, name, old_sealed) != text
    except SecretError:
        # An unreadable old secret must not block replacing it; keep it as the previous.
        return True


def delete_attribute(conn: sqlite3.Connection, target: tuple[str, int], name: str) -> None:
    check_target(conn, *target)
    if conn.execute(f"DELETE FROM attributes WHERE {_KEY}", (*target, name)).rowcount == 0:
        raise NotFoundError(f"{target[0]} {target[1]} has no attribute {name!r}")
    conn.execute(f"DELETE FROM attribute_history WHERE {_KEY}", (*target, name))
    delete_rollups(conn, target, name)


def get_attributes(
    conn: sqlite3.Connection, keyring: KeyRing, target: tuple[str, int]
) -> dict[str, Attribute]:
    check_target(conn, *target)
    rows = conn.execute(
        "SELECT name, type, value, previous_type, previous_value, updated_at FROM attributes"
        " WHERE target_type = ? AND target_id = ? ORDER BY name",
        target,
    )
    found = {}
    for name, kind, text, previous_kind, previous_text, updated_at in rows:
        value = decode(kind, unseal(keyring, name, text))
        previous = None
        if previous_text is not None:
            previous = decode(previous_kind, unseal(keyring, name, previous_text))
        found[name] = Attribute(name, kind, value, previous, updated_at, is_secure(name))
    return found


def get_attributes_of(
    conn: sqlite3.Connection, keyring: KeyRing, targets: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Attribute]]:
    """Each target's attributes, in the caller's one transaction (a consistent view of a
    device and its zones); a target deleted meanwhile is left out, not an error."""
    found = {}
    for target in targets:
        try:
            found[target] = get_attributes(conn, keyring, target)
        except NotFoundError:
            continue
    return found


def history(
    conn: sqlite3.Connection,
    target: tuple[str, int],
    name: str,
    since: float,
    until: float | None,
) -> list[tuple[float, float]]:
    check_target(conn, *target)
    rows = conn.execute(
        f"SELECT ts, value FROM attribute_history WHERE {_KEY} AND ts >= ?"
        " AND (? IS NULL OR ts <= ?) ORDER BY ts",
        (*target, name, since, until, until),
    )
    return [(ts, value) for ts, value in rows]

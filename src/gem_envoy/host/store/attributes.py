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
    """One target's values in a few statements whatever their number: history rows,
    deletions and plain values each in one multi-row statement (see `_in_chunks` for why
    rows are not stepped one by one), secure values apart."""
    target, now = write.target, time.time()
    present = {name: value for name, value in write.values.items() if value is not None}
    charted = [
        (*target, name, now, point)
        for name, value in present.items()
        if name in write.history and (point := history_point(name, value)) is not None
    ]
    points = [(*target, name, ts, value) for name, ts, value in write.points]
    _in_chunks(conn, _INSERT_HISTORY, 5, points + charted)
    # A value that is gone (e.g. a driver no longer reports it) is deleted; its past stays
    # charted.
    gone = [(*target, name) for name, value in write.values.items() if value is None]
    if gone:
        conn.executemany(f"DELETE FROM attributes WHERE {_KEY}", gone)
    plain = [
        (*target, name, *encode(value), now)
        for name, value in present.items()
        if not is_secure(name)
    ]
    _in_chunks(conn, _UPSERT_PLAIN, 6, plain, _KEEP_PREVIOUS_UNLESS_CHANGED)
    secure = {name: value for name, value in present.items() if is_secure(name)}
    if secure:
        conn.executemany(_UPSERT_SECURE, _secure_rows(conn, keyring, target, secure, now))


_INSERT_HISTORY = "INSERT INTO attribute_history (target_type, target_id, name, ts, value) VALUES"
_UPSERT_PLAIN = (
    "INSERT INTO attributes (target_type, target_id, name, type, value, updated_at) VALUES"
)
# The previous value is the stored one when the value changes, else the one kept before.
# SQLite evaluates every right-hand side against the row as it was.
_KEEP_PREVIOUS_UNLESS_CHANGED = (
    " ON CONFLICT (target_type, target_id, name) DO UPDATE SET"
    " previous_type = CASE WHEN type = excluded.type AND value = excluded.value"
    " THEN previous_type ELSE type END,"
    " previous_value = CASE WHEN type = excluded.type AND value = excluded.value"
    " THEN previous_value ELSE value END,"
    " type = excluded.type, value = excluded.value, updated_at = excluded.updated_at"
)
_UPSERT_SECURE = (
    "INSERT INTO attributes (target_type, target_id, name, type, value,"
    " previous_type, previous_value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (target_type, target_id, name) DO UPDATE SET"
    " type = excluded.type, value = excluded.value,"
    " previous_type = excluded.previous_type,"
    " previous_value = excluded.previous_value, updated_at = excluded.updated_at"
)
_CHUNK_ROWS = 100  # 8 columns at most: under SQLite's oldest limit of 999 parameters


def _in_chunks(
    conn: sqlite3.Connection,
    head: str,
    width: int,
    rows: Sequence[tuple[object, ...]],
    tail: str = "",
) -> None:
    """`head` VALUES (...), (...), ... `tail` for `rows`, up to _CHUNK_ROWS a statement.

    One statement for many rows rather than executemany's one step per row: sqlite3 lets
    go of the GIL around each step and the writer thread must then win it back from the
    event loop, which on a busy host takes up to the switch interval (5 ms) each time. With
    a step per row a poll's write took ~50 such turns, and a thousand gateways' writes fell
    behind the polls on a slower machine."""
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        values = ", ".join([one] * len(chunk))
        conn.execute(f"{head} {values}{tail}", [item for row in chunk for item in row])


def _secure_rows(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    target: tuple[str, int],
    values: dict[str, AttributeValue],
    now: float,
) -> list[tuple[object, ...]]:
    """The rows of secure values to upsert, each with its previous value: the stored one
    (still encrypted) when the value changes, else the one kept before. Ciphertexts differ
    at every sealing, so whether it changed is decided here, on the plaintext."""
    names = list(values)
    stored = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT name, type, value, previous_type, previous_value FROM attributes"
            f" WHERE target_type = ? AND target_id = ? AND name IN ({', '.join('?' * len(names))})",
            (*target, *names),
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

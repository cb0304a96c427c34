"""SQL for attributes and their history. Each function runs on a database thread inside
the caller's transaction; values were checked by `validate`, names of secure attributes
are encrypted here, on the thread, so plaintext never reaches SQLite."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Sequence

from ..secrets import KeyRing, SecretError, is_secure
from .codec import decode, encode, history_point, seal, unseal
from .devices import check_target
from .models import Attribute, AttributeValue, NotFoundError
from .rollups import delete_rollups

_KEY = "target_type = ? AND target_id = ? AND name = ?"


def set_attributes(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    target: tuple[str, int],
    values: dict[str, AttributeValue | None],
    history: Collection[str],
    points: Sequence[tuple[str, float, float]] = (),
) -> None:
    check_target(conn, *target)
    now = time.time()
    conn.executemany(
        "INSERT INTO attribute_history (target_type, target_id, name, ts, value)"
        " VALUES (?, ?, ?, ?, ?)",
        [(*target, name, ts, value) for name, ts, value in points],
    )
    for name, value in values.items():
        if value is None:
            # The value is gone (e.g. a driver no longer reports it); its past stays charted.
            conn.execute(f"DELETE FROM attributes WHERE {_KEY}", (*target, name))
            continue
        _upsert(conn, keyring, target, name, value, now)
        point = history_point(name, value) if name in history else None
        if point is not None:
            conn.execute(
                "INSERT INTO attribute_history (target_type, target_id, name, ts, value)"
                " VALUES (?, ?, ?, ?, ?)",
                (*target, name, now, point),
            )


def _upsert(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    target: tuple[str, int],
    name: str,
    value: AttributeValue,
    now: float,
) -> None:
    kind, text = encode(value)
    old = conn.execute(
        f"SELECT type, value, previous_type, previous_value FROM attributes WHERE {_KEY}",
        (*target, name),
    ).fetchone()
    previous_type, previous_value = (None, None) if old is None else (old[2], old[3])
    if old is not None and _changed(keyring, name, old[0], old[1], kind, text):
        # The old text moves over as stored: a secure one stays encrypted.
        previous_type, previous_value = old[0], old[1]
    conn.execute(
        "INSERT INTO attributes (target_type, target_id, name, type, value,"
        " previous_type, previous_value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (target_type, target_id, name) DO UPDATE SET"
        " type = excluded.type, value = excluded.value, previous_type = excluded.previous_type,"
        " previous_value = excluded.previous_value, updated_at = excluded.updated_at",
        (*target, name, kind, seal(keyring, name, text), previous_type, previous_value, now),
    )


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

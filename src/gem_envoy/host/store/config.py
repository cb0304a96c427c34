"""SQL for what drivers declare (their commands) and for host settings."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..secrets import KeyFileError, KeyRing, SecretError


def reconcile_commands(
    conn: sqlite3.Connection, driver: str, commands: list[tuple[str, list[str], str]]
) -> None:
    """Make the rows of `driver` exactly `commands`, touching only what differs."""
    wanted = {name: (json.dumps(args), notes) for name, args, notes in commands}
    stored = {
        name: (args, notes)
        for name, args, notes in conn.execute(
            "SELECT name, args, notes FROM driver_commands WHERE driver = ?", (driver,)
        )
    }
    for name in stored.keys() - wanted.keys():
        conn.execute("DELETE FROM driver_commands WHERE driver = ? AND name = ?", (driver, name))
    for name, (args, notes) in wanted.items():
        if stored.get(name) != (args, notes):
            conn.execute(
                "INSERT INTO driver_commands (driver, name, args, notes) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (driver, name) DO UPDATE SET"
                " args = excluded.args, notes = excluded.notes",
                (driver, name, args, notes),
            )


def list_commands(conn: sqlite3.Connection, driver: str) -> list[tuple[str, list[str], str]]:
    rows = conn.execute(
        "SELECT name, args, notes FROM driver_commands WHERE driver = ? ORDER BY name",
        (driver,),
    )
    return [(name, list(json.loads(args)), notes) for name, args, notes in rows]


def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


KEY_CHECK = "encryption_key_check"
_KEY_CHECK_TEXT = "gem-envoy encryption key check"


def check_keyring(conn: sqlite3.Connection, keyring: KeyRing, db_path: Path) -> None:
    """Refuse a key that is not the one this database's secrets were encrypted with.

    Without this, a wrong (e.g. restored from the wrong backup) key file would only show up
    later, as errors reading individual secure attributes.
    """
    stored = get_setting(conn, KEY_CHECK)
    if stored is None:
        set_setting(conn, KEY_CHECK, keyring.encrypt(_KEY_CHECK_TEXT))
        return
    try:
        keyring.decrypt(stored)
    except SecretError:
        raise KeyFileError(
            f"encryption key file {keyring.path} is not the key of {db_path}; secure "
            f"attributes cannot be read. Restore the key file that belongs to this database."
        ) from None

"""SQL for API keys. A row is keyed by its name and holds the SHA-256 of the key, never the
key: the database, its WAL and its backups hold nothing that could be replayed."""

from __future__ import annotations

import sqlite3

from .models import ConflictError, NotFoundError, StoredApiKey


def add_api_key(
    conn: sqlite3.Connection, name: str, key_hash: str, role: str, now: float
) -> StoredApiKey:
    try:
        conn.execute(
            "INSERT INTO api_keys (name, key_hash, role, created_at) VALUES (?, ?, ?, ?)",
            (name, key_hash, role, now),
        )
    except sqlite3.IntegrityError:
        raise ConflictError(f"there is already an API key named {name!r}") from None
    return StoredApiKey(name, role, now)


def find_api_key(conn: sqlite3.Connection, key_hash: str) -> StoredApiKey | None:
    row = conn.execute(
        "SELECT name, role, created_at FROM api_keys WHERE key_hash = ?", (key_hash,)
    ).fetchone()
    return None if row is None else StoredApiKey(str(row[0]), str(row[1]), float(row[2]))


def list_api_keys(conn: sqlite3.Connection) -> list[StoredApiKey]:
    rows = conn.execute("SELECT name, role, created_at FROM api_keys ORDER BY name")
    return [StoredApiKey(str(name), str(role), float(at)) for name, role, at in rows]


def delete_api_key(conn: sqlite3.Connection, name: str) -> None:
    if conn.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount == 0:
        raise NotFoundError(f"there is no API key named {name!r}")

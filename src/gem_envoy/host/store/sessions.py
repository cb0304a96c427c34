"""SQL for the API's sessions. A row is keyed by the SHA-256 of its bearer token: the
database, its WAL and its backups never hold a token that could be replayed."""

from __future__ import annotations

import sqlite3

from .models import StoredSession


def add_session(
    conn: sqlite3.Connection, key: str, username: str, role: str, expires: float, now: float
) -> None:
    # Sweeping on each sign-in keeps the table bounded by the sign-ins of one lifetime.
    prune_sessions(conn, now)
    conn.execute(
        "INSERT INTO sessions (token_hash, username, role, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (key, username, role, now, expires),
    )


def get_session(conn: sqlite3.Connection, key: str) -> StoredSession | None:
    row = conn.execute(
        "SELECT username, role, expires_at FROM sessions WHERE token_hash = ?", (key,)
    ).fetchone()
    return None if row is None else StoredSession(key, str(row[0]), str(row[1]), float(row[2]))


def delete_session(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))


def delete_user_sessions(conn: sqlite3.Connection, username: str) -> int:
    return conn.execute("DELETE FROM sessions WHERE username = ?", (username,)).rowcount


def prune_sessions(conn: sqlite3.Connection, now: float) -> int:
    return conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount

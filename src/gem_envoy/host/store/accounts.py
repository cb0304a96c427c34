"""SQL for users. Password hashing runs here, on a database thread, because scrypt is
deliberately slow and must not stall the event loop."""

from __future__ import annotations

import functools
import sqlite3
import time

from ..users import hash_password, verify_password
from .models import ConflictError, NotFoundError


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the user does not exist, so that a failed login takes as long
    # for an unknown name as for a wrong password and does not reveal which names exist.
    return hash_password("gem-envoy: no such user")


def add_user(conn: sqlite3.Connection, username: str, password: str, role: str) -> None:
    if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        raise ConflictError(f"a user named {username!r} already exists")
    conn.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
        (username, hash_password(password), role, time.time()),
    )


def set_password(conn: sqlite3.Connection, username: str, password: str) -> None:
    cursor = conn.execute(
        "UPDATE users SET password_hash = ? WHERE username = ?",
        (hash_password(password), username),
    )
    if cursor.rowcount == 0:
        raise NotFoundError(f"there is no user named {username!r}")


def check_login(conn: sqlite3.Connection, username: str, password: str) -> str | None:
    row = conn.execute(
        "SELECT password_hash, role FROM users WHERE username = ?", (username,)
    ).fetchone()
    if row is None:
        verify_password(password, _dummy_hash())
        return None
    stored, role = row
    return str(role) if verify_password(password, stored) else None


def list_users(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT username, role FROM users ORDER BY username")
    return [(username, role) for username, role in rows]

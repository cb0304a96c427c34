"""SQL for users. Passwords arrive here already hashed (see `hashing`); every change to a
user also ends that user's sessions, in the same transaction, so that a password reset, a
demotion or a deletion takes effect on the very next request, even one to a service that
runs in another process than the command that made the change."""

from __future__ import annotations

import sqlite3
import time

from ..users import ADMIN
from . import sessions
from .models import ConflictError, NotFoundError

# Checked against when the user does not exist, so that a failed sign-in takes as long for
# an unknown name as for a wrong password and does not reveal which names exist. The hash of
# a random password nobody kept.
DUMMY_HASH = (
    "scrypt$16384$8$1$XtJbhfzTlWxdqwLtLTtmwA==$cpzgWCMsFViQ+zQX7FIBZ8BAbi1bG2wZpOsfqyX/6jU="
)


def add_user(conn: sqlite3.Connection, username: str, password_hash: str, role: str) -> None:
    if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        raise ConflictError(f"a user named {username!r} already exists")
    conn.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
        (username, password_hash, role, time.time()),
    )


def set_password(conn: sqlite3.Connection, username: str, password_hash: str) -> int:
    """Returns how many sessions of the user ended."""
    cursor = conn.execute(
        "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
    )
    if cursor.rowcount == 0:
        raise NotFoundError(f"there is no user named {username!r}")
    return sessions.delete_user_sessions(conn, username)


def set_role(conn: sqlite3.Connection, username: str, role: str) -> int:
    """Returns how many sessions of the user ended (none when the role was already that)."""
    current = _role(conn, username)
    if current == role:
        return 0
    if current == ADMIN:
        _keep_an_admin(conn, username, "demoted")
    conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
    return sessions.delete_user_sessions(conn, username)


def delete_user(conn: sqlite3.Connection, username: str) -> int:
    """Returns how many sessions of the user ended."""
    if _role(conn, username) == ADMIN:
        _keep_an_admin(conn, username, "deleted")
    conn.execute("DELETE FROM users WHERE username = ?", (username,))
    return sessions.delete_user_sessions(conn, username)


def find_login(conn: sqlite3.Connection, username: str) -> tuple[str, str] | None:
    """(password hash, role) of the user, or None."""
    row = conn.execute(
        "SELECT password_hash, role FROM users WHERE username = ?", (username,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def list_users(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT username, role FROM users ORDER BY username")
    return [(username, role) for username, role in rows]


def _role(conn: sqlite3.Connection, username: str) -> str:
    row = conn.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise NotFoundError(f"there is no user named {username!r}")
    return str(row[0])


def _keep_an_admin(conn: sqlite3.Connection, username: str, change: str) -> None:
    # Without an admin nobody could add devices or users again, short of editing the file.
    admins = conn.execute("SELECT COUNT(*) FROM users WHERE role = ?", (ADMIN,)).fetchone()[0]
    if admins <= 1:
        raise ConflictError(
            f"{username!r} is the last admin and cannot be {change}; make another user admin first"
        )

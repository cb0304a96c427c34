"""Opening the database file: connection settings and versioned schema migrations.

Migrations are the files `migrations/NNNN_name.sql`, applied in order, each in its own
transaction together with the `PRAGMA user_version` that records it, so a crash leaves
the database at the previous version rather than half-migrated.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .models import SchemaError, StoreError

_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The packaged migrations in order; their versions must run 1, 2, 3... without gaps."""
    folder = resources.files("gem_envoy.host.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"packaged migrations are not numbered 1..n: {versions}")
    return found


def latest_version() -> int:
    return len(migrations())


def connect_writer(path: Path) -> sqlite3.Connection:
    """The one read-write connection, with the schema brought up to date."""
    _create_private(path)
    with _opening(path):
        conn = sqlite3.connect(path, isolation_level=None)
    try:
        with _opening(path):
            _configure(conn)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # NORMAL, not FULL: in WAL mode NORMAL never corrupts the database and survives
            # any crash of the process; only a power cut can drop the last few commits. The
            # host writes measurements every few seconds, often to an SD card, where an
            # fsync per commit costs latency and flash wear for little gain.
            conn.execute("PRAGMA synchronous = NORMAL")
        if mode != "wal":
            raise SchemaError(f"cannot use write-ahead logging for {path} (got {mode!r})")
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: a bug in a read path cannot write."""
    uri = path.resolve().as_uri() + "?mode=ro"
    with _opening(path):
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        with _opening(path):
            _configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def _opening(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from exc


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the migrations `conn` lacks; returns how many were applied."""
    current = _user_version(conn)
    known = migrations()
    if current > len(known):
        raise SchemaError(
            f"database {path} has schema version {current}, but this gem-envoy knows only "
            f"versions up to {len(known)}; it was written by a newer gem-envoy. Upgrade "
            f"gem-envoy, or restore a backup made with this version."
        )
    pending = [migration for migration in known if migration.version > current]
    for migration in pending:
        _apply(conn, migration, path)
    return len(pending)


def _apply(conn: sqlite3.Connection, migration: Migration, path: Path) -> None:
    script = (
        f"BEGIN IMMEDIATE;\n{migration.sql}\n;\nPRAGMA user_version = {migration.version};\nCOMMIT;"
    )
    try:
        conn.executescript(script)
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise SchemaError(f"migration {migration.name} failed on {path}: {exc}") from exc


def _user_version(conn: sqlite3.Connection) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert isinstance(version, int)
    return version


def _configure(conn: sqlite3.Connection) -> None:
    # Our own connections never wait on each other (one writer; WAL readers do not block
    # it), but a backup tool or an sqlite3 shell on the same file may hold a lock briefly.
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")


def _create_private(path: Path) -> None:
    # The database holds password hashes: create it owner-only. SQLite gives the -wal and
    # -shm files the same permissions as the database file.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)

"""Backups: the database and its key file, copied together and checked to belong together.

A backup is a directory holding a copy of the database, made with SQLite's online backup API
(a consistent snapshot, even while the service writes), and a copy of its key file, both
readable by their owner only. Neither half is any use without the other, so both `backup`
and `restore` check the pair: the copy passes SQLite's integrity check, and the key opens
every secure value in it. A restore never destroys what it replaces: the database it
replaces is moved aside, with its key, into a folder beside it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..secrets import KEY_FILE_NAME, KeyRing, SecretError, is_secure
from . import config
from .models import StoreError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# The files SQLite keeps beside a database in WAL mode; moved aside with it on a restore.
_SIDECARS = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class PairReport:
    """What a checked database and key pair holds."""

    path: Path
    devices: int
    secure_values: int


def backup(db_path: Path, dest: Path) -> PairReport:
    """Copy the database at `db_path` and its key into the new directory `dest`."""
    if not db_path.is_file():
        raise StoreError(f"there is no database at {db_path}")
    keyring = KeyRing.load_or_create(db_path)  # refuses a database whose key is missing
    _make_private_dir(dest)
    copy = dest / db_path.name
    source = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        target = _private_db(copy)
        try:
            source.backup(target)  # one step: one read snapshot, consistent as of its start
        finally:
            target.close()
    finally:
        source.close()
    assert keyring.path is not None
    _copy_private(keyring.path, dest / KEY_FILE_NAME)
    return check_pair(copy)


def restore(src: Path, db_path: Path) -> tuple[PairReport, Path | None]:
    """Put the backup in directory `src` in place at `db_path`. Returns the check of the
    backup and where the replaced database was moved (None if there was none).

    Stop the service first: a running host keeps its own connection to the old file."""
    backups = sorted(p for p in src.glob("*") if p.is_file() and p.name != KEY_FILE_NAME)
    databases = [p for p in backups if not p.name.endswith(_SIDECARS)]
    if len(databases) != 1:
        raise StoreError(f"{src} is not a backup made by `gem-envoy backup`: expected one database")
    report = check_pair(databases[0])
    moved = _move_aside(db_path) if db_path.exists() else None
    db_path.parent.mkdir(parents=True, exist_ok=True)
    _copy_private(databases[0], db_path)
    _copy_private(src / KEY_FILE_NAME, db_path.parent / KEY_FILE_NAME)
    return report, moved


def check_pair(db_path: Path) -> PairReport:
    """Refuse a copy that is damaged, or whose key (beside it) does not open its secrets."""
    if not (db_path.parent / KEY_FILE_NAME).is_file():
        raise StoreError(f"the key file {KEY_FILE_NAME} is missing beside {db_path}")
    keyring = KeyRing.load_or_create(db_path)
    conn = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise StoreError(f"{db_path} is damaged: {verdict}")
        opened = _open_every_secret(conn, keyring, db_path)
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreError(f"{db_path} is not a gem-envoy database: {exc}") from None
    finally:
        conn.close()
    return PairReport(db_path, int(devices), opened)


def _open_every_secret(conn: sqlite3.Connection, keyring: KeyRing, db_path: Path) -> int:
    check = config.get_setting(conn, config.KEY_CHECK)
    texts = [] if check is None else [("the key check", check)]
    rows = conn.execute("SELECT name, value, previous_value FROM attributes")
    for name, value, previous in rows:
        if is_secure(name):
            texts += [(name, text) for text in (value, previous) if text is not None]
    for what, text in texts:
        try:
            keyring.decrypt(text)
        except SecretError:
            raise StoreError(
                f"the key file beside {db_path} does not open {what}: it is not this database's key"
            ) from None
    return len(texts)


def _make_private_dir(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest} exists and is not an empty directory: choose a new one")
    dest.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    dest.chmod(PRIVATE_DIR)


def _private_db(path: Path) -> sqlite3.Connection:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    return sqlite3.connect(path)


def _copy_private(source: Path, target: Path) -> None:
    """Copy a file so that at no moment anyone but its owner can read the copy."""
    target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out, source.open("rb") as data:
        shutil.copyfileobj(data, out)


def _move_aside(db_path: Path) -> Path:
    """Move the database, its WAL files and its key into a new folder beside it."""
    aside = db_path.parent / f"replaced-{time.strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir(mode=PRIVATE_DIR)
    names = [db_path.name, *(db_path.name + s for s in _SIDECARS), KEY_FILE_NAME]
    for name in names:
        if (db_path.parent / name).exists():
            (db_path.parent / name).rename(aside / name)
    return aside

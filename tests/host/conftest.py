"""Fixtures for the host's store tests: a fresh database and key in tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store

TABLES = ("devices", "zones", "attributes", "attribute_history", "users", "driver_commands")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "host.db"


@pytest.fixture
def keyring(db_path: Path) -> KeyRing:
    return KeyRing.load_or_create(db_path)


@pytest.fixture
async def store(db_path: Path, keyring: KeyRing) -> AsyncIterator[Store]:
    opened = await Store.open(db_path, keyring)
    try:
        yield opened
    finally:
        await opened.close()


def snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, read past the store with a read-only connection."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        names = (*TABLES, "settings")
        return {name: sorted(conn.execute(f"SELECT * FROM {name}"), key=repr) for name in names}
    finally:
        conn.close()


def count(path: Path, table: str) -> int:
    return len(snapshot(path)[table])

"""Versioned schema: migrations applied once, in order, each in one transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import SchemaError, Store, StoreError, schema


def user_version(db_path: Path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        assert isinstance(version, int)
        return version
    finally:
        conn.close()


def test_migrations_are_packaged_and_numbered() -> None:
    found = schema.migrations()
    assert found[0].name == "0001_initial.sql"
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert schema.latest_version() == len(found)


async def test_fresh_database_gets_the_latest_version(db_path: Path, store: Store) -> None:
    assert user_version(db_path) == schema.latest_version()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


async def test_reopening_applies_nothing(db_path: Path, keyring: KeyRing) -> None:
    await (await Store.open(db_path, keyring)).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert schema.migrate(conn, db_path) == 0
    finally:
        conn.close()
    async with await Store.open(db_path, keyring) as store:
        assert await store.list_devices() == []
    assert user_version(db_path) == schema.latest_version()


async def test_newer_database_is_refused(db_path: Path, keyring: KeyRing) -> None:
    await (await Store.open(db_path, keyring)).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {schema.latest_version() + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer gem-envoy"):
        await Store.open(db_path, keyring)


async def test_a_failing_migration_leaves_the_previous_version(
    db_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await Store.open(db_path, keyring)).close()
    latest = schema.latest_version()
    broken = schema.Migration(
        latest + 1,
        "9999_broken.sql",
        "CREATE TABLE half_done (x);\nINSERT INTO nowhere VALUES (1);",
    )
    known = schema.migrations()
    monkeypatch.setattr(schema, "migrations", lambda: [*known, broken])
    with pytest.raises(SchemaError, match=r"9999_broken\.sql"):
        await Store.open(db_path, keyring)
    assert user_version(db_path) == latest
    conn = sqlite3.connect(db_path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "half_done" not in tables


async def test_a_file_that_is_not_a_database_is_a_store_error(
    db_path: Path, keyring: KeyRing
) -> None:
    db_path.write_bytes(b"this is not sqlite" * 100)  # noqa: ASYNC240 (test setup)
    with pytest.raises(StoreError, match="cannot open database"):
        await Store.open(db_path, keyring)


async def test_version_2_adds_sessions_to_a_version_1_database(
    db_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = schema.migrations()
    assert known[1].name == "0002_sessions.sql"
    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:1])
        async with await Store.open(db_path, keyring) as store:
            await store.add_user("root", "root-password-1", "admin")
    assert user_version(db_path) == 1

    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:2])
        async with await Store.open(db_path, keyring) as store:
            assert await store.check_login("root", "root-password-1") == "admin"
            await store.add_session("f" * 64, "root", "admin", 2e9, now=1e9)
    assert user_version(db_path) == 2
    conn = sqlite3.connect(db_path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(sessions)")]
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(sessions)")}
        rows = conn.execute("SELECT * FROM sessions").fetchall()
    finally:
        conn.close()
    assert columns == ["token_hash", "username", "role", "created_at", "expires_at"]
    assert {"sessions_username", "sessions_expires_at"} <= indexes
    assert rows == [("f" * 64, "root", "admin", 1e9, 2e9)]

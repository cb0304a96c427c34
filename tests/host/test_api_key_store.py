"""API keys in the store: migration 0003, digests only, names unique, revocation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gem_envoy.host.api_keys import key_digest, new_key
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import ConflictError, NotFoundError, Store, ValidationError, schema


async def test_version_3_adds_api_keys_to_a_version_2_database(
    db_path: Path, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = schema.migrations()
    assert known[2].name == "0003_api_keys.sql"
    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:2])
        async with await Store.open(db_path, keyring) as store:
            await store.add_session("f" * 64, "root", "admin", 2e9, now=1e9)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()

    key = new_key()
    with monkeypatch.context() as patch:
        patch.setattr(schema, "migrations", lambda: known[:3])
        async with await Store.open(db_path, keyring) as store:
            assert await store.get_session("f" * 64) is not None  # what was there stays
            stored = await store.add_api_key("prometheus", key_digest(key), "metrics")
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        columns = [row[1] for row in conn.execute("PRAGMA table_info(api_keys)")]
        rows = conn.execute("SELECT name, key_hash, role FROM api_keys").fetchall()
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert columns == ["name", "key_hash", "role", "created_at"]
    assert rows == [("prometheus", key_digest(key), "metrics")]
    assert key not in dump  # only its digest
    assert stored.name == "prometheus" and stored.role == "metrics"


async def test_keys_are_found_by_digest_listed_and_revoked(store: Store) -> None:
    first, second = new_key(), new_key()
    assert first.startswith("gemk_") and first != second
    await store.add_api_key("prometheus", key_digest(first), "metrics")
    await store.add_api_key("grafana", key_digest(second), "user")
    found = await store.find_api_key(key_digest(second))
    assert found is not None and (found.name, found.role) == ("grafana", "user")
    assert await store.find_api_key(key_digest("gemk_guess")) is None
    assert [(k.name, k.role) for k in await store.list_api_keys()] == [
        ("grafana", "user"),
        ("prometheus", "metrics"),
    ]
    await store.delete_api_key("grafana")
    assert await store.find_api_key(key_digest(second)) is None
    with pytest.raises(NotFoundError, match="no API key named 'grafana'"):
        await store.delete_api_key("grafana")


async def test_names_are_unique_and_roles_checked(store: Store) -> None:
    await store.add_api_key("prometheus", key_digest(new_key()), "metrics")
    with pytest.raises(ConflictError, match="already an API key named 'prometheus'"):
        await store.add_api_key("prometheus", key_digest(new_key()), "metrics")
    with pytest.raises(ValidationError, match="role is one of user, metrics"):
        await store.add_api_key("root", key_digest(new_key()), "admin")
    with pytest.raises(ValidationError, match="64 lowercase hex"):
        await store.add_api_key("plain", new_key(), "user")  # never the key itself
    assert [k.name for k in await store.list_api_keys()] == ["prometheus"]

"""Headline requirement: the plaintext of a secret never reaches the database files."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store


def file_bytes(db_path: Path) -> bytes:
    """The database and its -wal and -shm companions, whichever exist right now."""
    found = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = db_path.with_name(db_path.name + suffix)
        if path.exists():
            found += path.read_bytes()
    return found


def checkpoint(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def test_secret_plaintext_never_reaches_the_files(db_path: Path, keyring: KeyRing) -> None:
    secrets = [os.urandom(24).hex() for _ in range(5)]
    visible = "plain-marker-" + os.urandom(8).hex()
    store = await Store.open(db_path, keyring)
    device = await store.add_device("envoy", "d", attributes={"api_token": secrets[0]})
    zone = await store.add_zone(device.id, "z")
    await store.set_attributes("device", device.id, {"api_token": secrets[1], "host": visible})
    await store.set_attributes("zone", zone.id, {"installer_password": secrets[2]})
    await store.add_user("alice", secrets[3], "admin")
    await store.set_setting("note", visible)
    await store.set_attributes("device", device.id, {"client_secret": secrets[4]})

    # The API still gives the secrets back: the test is not vacuous.
    attrs = await store.get_attributes("device", device.id)
    assert (attrs["api_token"].value, attrs["api_token"].previous) == (secrets[1], secrets[0])

    phases = {"while open": file_bytes(db_path)}
    checkpoint(db_path)
    phases["after a checkpoint"] = file_bytes(db_path)
    await store.close()
    phases["after close"] = file_bytes(db_path)

    for phase, data in phases.items():
        assert visible.encode() in data, phase  # we do read where the data is
        assert b"gem-crypt:" in data, phase
        for secret in secrets:
            assert secret.encode() not in data, f"secret found in the files {phase}"


async def test_database_files_are_private(db_path: Path, keyring: KeyRing) -> None:
    async with await Store.open(db_path, keyring) as store:
        await store.add_user("alice", "alice-password", "admin")  # password hashes live here
        for suffix in ("", "-wal", "-shm"):
            path = db_path.with_name(db_path.name + suffix)
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path

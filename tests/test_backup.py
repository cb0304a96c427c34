"""`gem-envoy backup` while the service writes, then `gem-envoy restore`: nothing acknowledged
before the backup is lost, every secret still opens, and the pair is refused if mismatched."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
import time
from pathlib import Path

import httpx
import jwt
import pytest

from gem_envoy.host.secrets import KEY_FILE_NAME, KeyRing
from gem_envoy.host.store import Store
from tests.host_process import host_process
from tests.simulator import gem_envoy

PASSWORD = "backup-test-password-1"


def device_token(n: int) -> str:
    claims = {"enphaseUser": "owner", "exp": 2_000_000_000, "n": n}
    return jwt.encode(claims, "a-signing-secret-that-is-long-enough", algorithm="HS256")


class Writer(threading.Thread):
    """Adds devices through the API, one after another, noting when each was acknowledged."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.acked: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as api:
            login = api.post("/api/token", json={"username": "admin", "password": PASSWORD})
            api.headers["Authorization"] = f"Bearer {login.json()['token']}"
            for n in range(2000):
                if self.stop.is_set():
                    return
                body = {
                    "name": f"gw-{n}",
                    "driver": "enphase_envoy",
                    "enabled": False,  # stored, not polled
                    "attributes": {"ip": "127.0.0.1", "token": device_token(n)},
                }
                if api.post("/api/data/devices", json=body).status_code == 201:
                    self.acked.append((time.monotonic(), f"gw-{n}"))


def wait_for_writes(writer: Writer, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(writer.acked) < count:
        assert time.monotonic() < deadline, "the API did not acknowledge writes"
        time.sleep(0.02)


async def test_a_backup_during_writes_restores_every_acknowledged_write(tmp_path: Path) -> None:
    live, saved = tmp_path / "live" / "gem.db", tmp_path / "backup"
    with host_process(live, PASSWORD) as host:
        writer = Writer(host.url)
        writer.start()
        try:
            wait_for_writes(writer, 20)
            began = time.monotonic()
            result = gem_envoy("backup", str(saved), "--db", str(live))
            wait_for_writes(writer, len(writer.acked) + 5)  # the burst went on meanwhile
        finally:
            writer.stop.set()
            writer.join()
    assert result.returncode == 0, result.stderr
    before = {name for at, name in writer.acked if at < began}
    for path in (saved, saved / "gem.db", saved / KEY_FILE_NAME):
        assert stat.S_IMODE(path.stat().st_mode) in (0o700, 0o600), path

    restored = tmp_path / "elsewhere" / "gem.db"
    result = gem_envoy("restore", str(saved), "--db", str(restored))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["devices"] >= len(before)
    conn = sqlite3.connect(restored)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    async with await Store.open(restored, KeyRing.load_or_create(restored)) as store:
        devices = {d.name: d for d in await store.list_devices()}
        assert before <= set(devices)
        for name in before:
            attributes = await store.get_attributes("device", devices[name].id)
            assert attributes["token"].value == device_token(int(name.split("-")[1]))


def test_a_restore_keeps_what_it_replaces_and_refuses_a_foreign_key(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "gem.db", tmp_path / "b" / "gem.db"
    for db in (first, second):
        token = f"token=@{_token_file(tmp_path)}"
        result = gem_envoy("device", "add", "--db", str(db), "gw", "ip=127.0.0.1", token)
        assert result.returncode == 0, result.stderr
    assert gem_envoy("backup", str(tmp_path / "saved"), "--db", str(first)).returncode == 0
    # Restoring over `second` moves `second` (and its key) aside, whole.
    result = gem_envoy("restore", str(tmp_path / "saved"), "--db", str(second))
    assert result.returncode == 0, result.stderr
    moved = Path(json.loads(result.stdout)["previous_database_moved_to"])
    assert (moved / "gem.db").exists() and (moved / KEY_FILE_NAME).exists()
    # A backup whose key is not its database's is refused, and changes nothing.
    (tmp_path / "saved" / KEY_FILE_NAME).write_bytes((moved / KEY_FILE_NAME).read_bytes())
    target = tmp_path / "c" / "gem.db"
    refused = gem_envoy("restore", str(tmp_path / "saved"), "--db", str(target))
    assert refused.returncode == 1
    assert "does not open" in refused.stderr or "not the key" in refused.stderr
    assert not target.exists()


def _token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(device_token(0))
    return path


@pytest.mark.parametrize("dest_kind", ["file", "full directory"])
def test_a_backup_never_overwrites(tmp_path: Path, dest_kind: str) -> None:
    db = tmp_path / "gem.db"
    assert gem_envoy("device", "list", "--db", str(db)).returncode == 0
    dest = tmp_path / "dest"
    if dest_kind == "file":
        dest.write_text("keep me")
    else:
        dest.mkdir()
        (dest / "keep").write_text("keep me")
    result = gem_envoy("backup", str(dest), "--db", str(db))
    assert result.returncode == 1
    assert "choose a new one" in result.stderr

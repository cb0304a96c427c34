"""`gem-envoy demo` (what `make run` starts), run as a user would, then inspected."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gem_envoy.cli.demo_password import demo_password
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store
from gem_envoy.host.users import ADMIN_PASSWORD_ENV
from tests.test_host_with_driver import TELEMETRY

URL = re.compile(r"web page on (http://127\.0\.0\.1:\d+)/ - sign in as admin / (\S+)")


def start_demo(
    db: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gem_envoy.cli", "demo", "--db", str(db), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        found = URL.search(line)
        if found:
            return process, found.group(1), found.group(2), seen
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError("demo did not start: " + "".join(seen))


def wait_populated(url: str, password: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    with httpx.Client(base_url=url, timeout=10) as api:
        token = api.post("/api/token", json={"username": "admin", "password": password}).json()
        bearer = {"Authorization": f"Bearer {token['token']}"}
        deadline = time.monotonic() + 15  # one polling interval (10 s) and some slack
        while True:
            device = api.get("/api/attributes/device/1", headers=bearer).json()
            zones = api.get("/api/data/zones", headers=bearer).json()
            zone_attrs = [
                api.get(f"/api/attributes/zone/{z['id']}", headers=bearer).json() for z in zones
            ]
            if all(n in device for n in TELEMETRY) and all("last_w" in z for z in zone_attrs):
                return device, zone_attrs
            assert time.monotonic() < deadline, device
            time.sleep(0.5)


def test_demo_populates_everything_and_never_stores_or_logs_the_token(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "gem.db"
    process, url, password, seen = start_demo(db)
    try:
        device, zones = wait_populated(url, password)
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    log = "".join(seen) + rest
    assert process.returncode == 0, log
    assert len(zones) == 12 and device["inverter_count"] == 12
    assert device["token"] == "********"
    assert "Traceback" not in log

    token = asyncio.run(_stored_token(db))
    assert token.count(".") == 2  # a JWT, read back through the key
    for path in db.parent.iterdir():
        assert token.encode() not in path.read_bytes(), path.name
        assert token.split(".")[2].encode() not in path.read_bytes(), path.name
    assert token not in log and token.split(".")[2] not in log
    assert token.encode() not in command_line  # nor in the process list
    assert (db.parent / ".encryption_key").stat().st_mode & 0o777 == 0o600


async def _stored_token(db: Path) -> str:
    async with await Store.open(db, KeyRing.load_or_create(db)) as store:
        device = await store.get_device("envoy")
        return str((await store.get_attributes("device", device.id))["token"].value)


def stop(process: subprocess.Popen[str], seen: list[str]) -> str:
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=20)
    log = "".join(seen) + rest
    assert process.returncode == 0, log
    return log


def test_a_second_run_keeps_the_password_and_goes_on_from_the_counters(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "gem.db"
    process, url, password, seen = start_demo(db)
    try:
        first, _ = wait_populated(url, password)
    finally:
        stop(process, seen)
    kept = db.parent / "admin-password"
    assert kept.read_text().strip() == password and kept.stat().st_mode & 0o777 == 0o600
    # As after a run that went on for days: well beyond what a fresh plant starts from.
    lifetime = int(first["production_lifetime_wh"]) + 50_000  # type: ignore[call-overload]
    asyncio.run(_set_device_attribute(db, "production_lifetime_wh", lifetime))

    process, url, again, seen = start_demo(db)
    try:
        assert again == password
        second, _ = wait_populated(url, password)
    finally:
        log = stop(process, seen)
    assert int(second["production_lifetime_wh"]) >= lifetime  # type: ignore[call-overload]
    assert "went back" not in log and "reboot" not in log
    assert "12 zone(s), one per inverter (0 added now)" in log


async def _set_device_attribute(db: Path, name: str, value: int) -> None:
    async with await Store.open(db, KeyRing.load_or_create(db)) as store:
        device = await store.get_device("envoy")
        await store.set_attributes("device", device.id, {name: value})


def test_make_run_listens_where_told(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port free now, to ask for by number
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        # -o: never reinstall from here, even when pyproject.toml is newer than the venv
        ["make", "-s", "-o", ".venv/.installed", "run", f"LISTEN=127.0.0.1:{port}",
         f"DEMO_DB={tmp_path / 'gem.db'}"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and the demo under it, stopped together
    )  # fmt: skip
    assert process.stdout is not None
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and not URL.search(line):
            line = process.stdout.readline()
            assert line or process.poll() is None, "make run stopped"
        found = URL.search(line)
        assert found and found.group(1) == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{found.group(1)}/", timeout=10).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=20)


def test_the_demo_password_is_kept_unless_the_environment_chooses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADMIN_PASSWORD_ENV, raising=False)
    first = demo_password(tmp_path / "demo")
    assert demo_password(tmp_path / "demo") == first and len(first) >= 12
    assert (tmp_path / "demo" / "admin-password").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, "chosen-by-the-user")
    assert demo_password(tmp_path / "demo") == "chosen-by-the-user"
    assert (tmp_path / "demo" / "admin-password").read_text().strip() == first

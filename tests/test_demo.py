"""`gem-envoy demo` (what `make run` starts), run as a user would, then inspected."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store
from tests.test_host_with_driver import TELEMETRY

URL = re.compile(r"web page on (http://127\.0\.0\.1:\d+)/ - sign in as admin / (\S+)")


def start_demo(db: Path) -> tuple[subprocess.Popen[str], str, str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gem_envoy.cli", "demo", "--db", str(db), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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

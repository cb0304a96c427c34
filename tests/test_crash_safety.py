"""SIGKILL the host at random moments while it polls and takes API writes, many times.

After every kill the database must pass `PRAGMA integrity_check`, every device, zone and
attribute whose write was acknowledged must still be there, and polling must resume.
GEM_ENVOY_KILLS sets the number of kills (`make reliability` runs 30).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.eventually import eventually
from tests.simulator import SimProcess, simulator

KILLS = int(os.environ.get("GEM_ENVOY_KILLS") or 5)
PASSWORD = "crash-test-password"
LISTENING = re.compile(r"gem-envoy host on (http://127\.0\.0\.1:\d+)/")


@dataclass
class Acknowledged:
    """What the API confirmed before the kill: it must survive."""

    devices: set[str] = field(default_factory=set)
    zones: set[tuple[int, str]] = field(default_factory=set)
    attributes: dict[tuple[int, str], str] = field(default_factory=dict)


def start_host(db: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gem_envoy.cli", "run", "--db", str(db), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "GEM_ENVOY_ADMIN_PASSWORD": PASSWORD},
    )
    assert process.stdout is not None
    for _ in range(50):
        line = process.stdout.readline()
        found = LISTENING.search(line)
        if found:
            return process, found.group(1)
        if not line:
            break
    process.kill()
    raise AssertionError("host did not start")


def writer(url: str, round_: int, acked: Acknowledged, stop: threading.Event) -> None:
    """API writes until stopped (or until the host dies under it)."""
    try:
        with httpx.Client(base_url=url, timeout=5) as api:
            login = api.post("/api/token", json={"username": "admin", "password": PASSWORD})
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            for n in range(1000):
                if stop.is_set():
                    return
                name = f"dev-{round_}-{n}"
                # Disabled: the writes race the kills without a driver polling for each.
                device = {"name": name, "driver": "enphase_envoy", "enabled": False}
                reply = api.post("/api/data/devices", headers=bearer, json=device)
                if reply.status_code != 201:
                    return
                acked.devices.add(name)
                device_id = reply.json()["id"]
                if (
                    api.post(
                        "/api/data/zones", headers=bearer, json={"device": device_id, "name": "z"}
                    ).status_code
                    == 201
                ):
                    acked.zones.add((device_id, "z"))
                value = f"v{round_}.{n}"
                if api.put(
                    f"/api/attributes/device/{device_id}", headers=bearer, json={"note": value}
                ).is_success:
                    acked.attributes[(device_id, "note")] = value
    except httpx.HTTPError:
        return  # the host was killed mid-request: that write was never acknowledged


def check_database(db: Path, acked: Acknowledged) -> int:
    """Integrity, and every acknowledged write present; returns the envoy's last_poll_ms."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        devices = {row[0] for row in conn.execute("SELECT name FROM devices")}
        assert acked.devices <= devices, acked.devices - devices
        zones = set(conn.execute("SELECT device_id, name FROM zones"))
        assert acked.zones <= zones
        for (device_id, name), value in acked.attributes.items():
            row = conn.execute(
                "SELECT value FROM attributes"
                " WHERE target_type='device' AND target_id=? AND name=?",
                (device_id, name),
            ).fetchone()
            assert row is not None and value in row[0], (device_id, name)
        polled = conn.execute(
            "SELECT value FROM attributes WHERE target_id=1 AND name='last_poll_ms'"
        ).fetchone()
        return int(polled[0]) if polled else 0
    finally:
        conn.close()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    with simulator(tmp_path, ["--inverters", "4"]) as s:
        yield s


def test_sigkill_loses_nothing_acknowledged(tmp_path: Path, sim: SimProcess) -> None:
    db = tmp_path / "host" / "gem.db"
    add = [
        sys.executable, "-m", "gem_envoy.cli", "device", "add", "--db", str(db), "envoy",
        f"ip={sim.host}", f"port={sim.port}", f"token=@{sim.token_file}", "polling_interval=5000",
    ]  # fmt: skip
    subprocess.run(add, check=True, capture_output=True, timeout=60)
    acked = Acknowledged()
    rng = random.Random(20261124)
    last_poll = 0
    for round_ in range(KILLS):
        process, url = start_host(db)
        stop = threading.Event()
        thread = threading.Thread(target=writer, args=(url, round_, acked, stop))
        thread.start()
        time.sleep(rng.uniform(0.2, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        thread.join(timeout=10)
        polled = check_database(db, acked)
        assert polled >= last_poll
        last_poll = polled
    # After the last kill the host comes back and polls again.
    process, url = start_host(db)
    try:
        resumed = eventually(lambda: check_database(db, acked) > last_poll, 20, "polling resumed")
        asyncio.run(resumed)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert len(acked.devices) > KILLS  # the writes really raced the kills
    print(
        f"\n{KILLS} SIGKILLs: integrity ok each time; {len(acked.devices)} devices, "
        f"{len(acked.zones)} zones, {len(acked.attributes)} attributes acknowledged, 0 lost"
    )

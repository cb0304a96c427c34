"""Real mDNS, in a network namespace of the test's own (tests/netns.py): `gem-envoy discover`
finds simulated gateways announced with `simulate --mdns`, and a device follows its gateway
to a new address, found by its serial."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from tests.netns import Netns, netns

FIRST, SECOND = "198.18.0.1", "198.18.0.2"
PORT = re.compile(r"listening on https://[^ ]+:(\d+)")
INTERVAL_S = 5.0  # the driver's floor


def simulate(space: Netns, host: str, serial: str, *extra: str) -> int:
    sim = space.start(
        "simulate", "--host", host, "--port", "0", "--serial", serial, "--mdns", *extra
    )
    found = PORT.search(sim.wait_for("listening on"))
    assert found is not None
    sim.wait_for("announced on mDNS")
    return int(found.group(1))


def test_discover_lists_the_gateways_announced_on_the_lan() -> None:
    with netns() as space:
        space.add_address(FIRST)
        space.add_address(SECOND)
        first_port = simulate(space, FIRST, "122300000011")
        second_port = simulate(space, SECOND, "122300000022", "--firmware", "D7.6.175")
        result = space.gem_envoy("discover", "--timeout", "3")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [(g["serial"], g["firmware"], g["addresses"], g["port"]) for g in found] == [
        ("122300000011", "8.2.4382", [FIRST], first_port),
        ("122300000022", "7.6.175", [SECOND], second_port),
    ]
    # Two gateways on one LAN: the second to announce itself is renamed, as real ones are.
    assert sorted(g["name"] for g in found) == ["envoy", "envoy-2"]


def device_attributes(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT name, value FROM attributes WHERE target_type = 'device' AND name IN"
            " ('ip', 'online', 'last_poll_ms', 'serial_number')"
        ).fetchall()
    finally:
        conn.close()
    return {str(name): str(value) for name, value in rows}


def wait_until(
    db: Path, check: Callable[[dict[str, str]], bool], timeout_s: float
) -> dict[str, str]:
    """The device's attributes once `check` passes, or as they are after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            values = device_attributes(db)
        except sqlite3.OperationalError:  # busy: read again
            values = {}
        if check(values) or time.monotonic() > deadline:
            return values
        time.sleep(0.1)


def test_a_device_follows_its_gateway_to_a_new_address(tmp_path: Path) -> None:
    db, token = tmp_path / "gem.db", tmp_path / "installer.jwt"
    with netns() as space:
        space.add_address(FIRST)
        # Listening on every address, it announces the namespace's and follows their changes.
        port = simulate(space, "0.0.0.0", "122300000033", "--token-file", str(token))
        added = space.gem_envoy(
            "device", "add", "envoy", f"ip={FIRST}", f"port={port}", f"token=@{token}",
            f"polling_interval={int(INTERVAL_S * 1000)}", "request_timeout=1000", "--db", str(db),
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        host = space.start(
            "run", "--db", str(db), "--listen", "127.0.0.1:0",
            env={"GEM_ENVOY_ADMIN_PASSWORD": "admin-password-1"},
        )  # fmt: skip
        host.wait_for("gem-envoy host on")
        ready = wait_until(db, lambda a: a.get("online") == "true" and "serial_number" in a, 30)
        assert ready.get("online") == "true", ready

        # The gateway gets a new lease: the old address is gone, the new one announced.
        space.add_address(SECOND)
        space.remove_address(FIRST)
        moved_at, moved_ms = time.monotonic(), time.time() * 1000

        def polled_there(a: dict[str, str]) -> bool:
            return a.get("ip") == SECOND and int(a.get("last_poll_ms", "0")) > moved_ms

        after = wait_until(db, polled_there, 3 * INTERVAL_S)
        took = time.monotonic() - moved_at
        assert after.get("ip") == SECOND, (after, "".join(host.seen))
        assert took <= 2 * INTERVAL_S, f"followed after {took:.1f} s"
        host.wait_for(f"stopped answering at {FIRST} and announces itself at {SECOND}", 5)

"""The host verbs of `gem-envoy` (device, zone, user, console) on a real database file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from tests.simulator import gem_envoy

SECRET_TOKEN = jwt.encode(
    {"aud": "122300000001", "enphaseUser": "installer", "exp": 4102444800},
    "not-the-gateway-key-but-a-well-formed-jwt",
    algorithm="HS256",
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "gem.db"


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return gem_envoy(*args[:2], "--db", str(db), *args[2:])


def ok(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_device_and_zone_lifecycle_with_the_token_from_a_file(db: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "envoy.jwt"
    token_file.write_text(SECRET_TOKEN + "\n")
    added = ok(run(db, "device", "add", "envoy", "ip=127.0.0.1", f"token=@{token_file}"))
    assert added == {"id": 1, "name": "envoy"}
    ok(run(db, "device", "set", "envoy", "polling_interval=60000", "--label", "Garage"))
    ok(run(db, "zone", "add", "envoy", "roof-1", "121823030072"))

    devices = ok(run(db, "device", "list"))
    assert isinstance(devices, list)
    assert devices[0]["label"] == "Garage"
    assert devices[0]["attributes"] == {
        "ip": "127.0.0.1", "token": "********", "polling_interval": 60000,
    }  # fmt: skip
    zones = ok(run(db, "zone", "list", "--device", "envoy"))
    assert zones == [{"id": 1, "device": 1, "name": "roof-1", "address": "121823030072"}]
    for path in db.parent.iterdir():
        assert SECRET_TOKEN.encode() not in path.read_bytes()

    ok(run(db, "zone", "rm", "1"))
    ok(run(db, "device", "rm", "envoy"))
    assert ok(run(db, "device", "list")) == []


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("polling_interval=-1", "polling_interval must be a positive whole number"),
        ("polling_interval=abc", "polling_interval must be a whole number"),
        ("port=70000", "port must be between 1 and 65535"),
        ("token=not-a-jwt", "the configured token is not a JWT"),
    ],
)
def test_bad_attributes_are_refused_and_nothing_is_stored(
    db: Path, pair: str, message: str
) -> None:
    ok(run(db, "device", "add", "envoy", "ip=127.0.0.1", f"token={SECRET_TOKEN}"))
    before = ok(run(db, "device", "list"))
    result = run(db, "device", "set", "envoy", pair)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ok(run(db, "device", "list")) == before


def test_a_key_file_readable_by_others_stops_the_host(db: Path) -> None:
    ok(run(db, "device", "add", "envoy", "ip=127.0.0.1", f"token={SECRET_TOKEN}"))
    (db.parent / ".encryption_key").chmod(0o644)
    result = run(db, "device", "list")
    assert result.returncode == 1
    assert "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_key_file_is_a_clear_error_not_garbage(db: Path) -> None:
    ok(run(db, "device", "add", "envoy", "ip=127.0.0.1", f"token={SECRET_TOKEN}"))
    (db.parent / ".encryption_key").unlink()
    result = run(db, "device", "list")
    assert result.returncode == 1
    assert "missing" in result.stderr


def test_console_runs_awaited_commands_like_gem(db: Path) -> None:
    ok(run(db, "device", "add", "envoy", "ip=127.0.0.1", f"token={SECRET_TOKEN}"))
    script = "\n".join(
        [
            "await gem.devices()",
            'await gem.get_attribute("device", 1, "ip")',
            'await gem.get_attribute("device", 1, "token")',
            'await gem.command({"device": 1, "action": "no_such_action"})',
        ]
    )
    result = subprocess.run(
        [sys.executable, "-m", "gem_envoy.cli", "console", "--db", str(db)],
        input=script + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "envoy"' in result.stdout
    assert '"127.0.0.1"' in result.stdout
    assert '"********"' in result.stdout and SECRET_TOKEN not in result.stdout + result.stderr
    # The device is unreachable, or the action unknown: either way one line, not a traceback.
    assert "error:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_zone_add_warns_of_a_serial_the_device_does_not_list(db: Path) -> None:
    # As the driver reports it after reading the inverter list.
    ok(run(db, "device", "add", "envoy", "ip=127.0.0.1", "inverter_serials=111,222"))
    known = run(db, "zone", "add", "envoy", "roof-1", "111")
    assert ok(known) and known.stderr == ""
    unknown = run(db, "zone", "add", "envoy", "roof-2", "333")
    assert ok(unknown) == {"id": 2, "device": 1, "name": "roof-2", "address": "333"}
    assert "warning: inverter 333 is not in the gateway's inverter list" in unknown.stderr

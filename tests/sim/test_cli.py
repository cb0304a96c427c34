"""``python -m gem_envoy.sim``: the listening line, token files, clean exits."""

from __future__ import annotations

import argparse
import re
import select
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.sim import cli

LISTENING = re.compile(r"^listening on https://127\.0\.0\.1:(\d+)$")


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gem_envoy.sim", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(proc: subprocess.Popen[str], timeout_s: float = 20.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, "the simulator printed nothing"
    return proc.stdout.readline().rstrip("\n")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    proc = _start(
        "--token-file",
        str(tmp_path / "installer.jwt"),
        "--owner-token-file",
        str(tmp_path / "owner.jwt"),
        "--battery",
    )
    try:
        line = _first_line(proc)
        match = LISTENING.match(line)
        assert match, line
        yield proc, int(match.group(1)), tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_cli_listens_and_writes_private_token_files(
    running: tuple[subprocess.Popen[str], int, Path],
) -> None:
    proc, port, folder = running
    installer = folder / "installer.jwt"
    owner = folder / "owner.jwt"
    for path in (installer, owner):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == path.read_text().strip() != ""
    base = f"https://127.0.0.1:{port}"
    with httpx.Client(base_url=base, verify=False, timeout=10) as http:
        auth = {"Authorization": f"Bearer {installer.read_text().strip()}"}
        assert http.get("/api/v1/production/inverters", headers=auth).status_code == 200
        assert http.get("/ivp/ensemble/inventory", headers=auth).json()[0]["type"] == "ENCHARGE"
        auth = {"Authorization": f"Bearer {owner.read_text().strip()}"}
        assert http.get("/production.json", headers=auth).status_code == 200
        assert http.get("/api/v1/production/inverters", headers=auth).status_code == 403
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_cli_exits_cleanly_on_ctrl_c(running: tuple[subprocess.Popen[str], int, Path]) -> None:
    proc, _, _ = running
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_cli_refuses_a_missing_capture_folder(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--port", "0", "--capture", str(tmp_path / "absent")])
    assert cli.run(args) == 2


def test_cli_options() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        [
            *("--no-cts", "--inverters", "20", "--serial", "1", "--speed", "60"),
            *("--latency-ms", "5", "--start", "2024-06-01T12:00:00+00:00", "--utc-offset", "-7"),
        ]
    )
    options = cli.options_from_args(args)
    assert (options.port, options.host) == (8443, "127.0.0.1")
    assert (options.cts, options.inverters, options.serial) == (False, 20, "1")
    assert (options.speed, options.latency_ms) == (60.0, 5.0)
    assert options.start_time == 1717243200.0
    assert options.utc_offset_s == -7 * 3600
    assert args.token_lifetime is None  # Enphase's per kind: 12 h installer, a year owner


def test_cli_live_telemetry_options() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    defaults = cli.options_from_args(parser.parse_args([]))
    assert (defaults.phases, defaults.clock_power) == (2, False)
    assert (defaults.livedata_timeout_s, defaults.livedata_when_disabled) == (900.0, "frozen")
    assert defaults.stream_interval_s == 1.0
    args = parser.parse_args(
        [
            *("--phases", "3", "--clock-power", "--stream-interval", "0.1"),
            *("--livedata-timeout", "5", "--livedata-when-disabled", "refreshing"),
            *("--fault", "stream-burst"),
        ]
    )
    options = cli.options_from_args(args)
    assert (options.phases, options.clock_power, options.stream_interval_s) == (3, True, 0.1)
    assert (options.livedata_timeout_s, options.livedata_when_disabled) == (5.0, "refreshing")
    assert options.fault is not None and options.fault.kind == "stream-burst"
    with pytest.raises(SystemExit):
        parser.parse_args(["--phases", "4"])

"""Start `gem-envoy simulate` as a real process on 127.0.0.1 for integration tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, cast

import httpx

LISTENING = re.compile(r"listening on https://([\d.]+):(\d+)")


class PathStats(TypedDict):
    requests: int
    bytes: int  # body bytes written, a stream's as it goes


class SimStats(TypedDict):
    """`GET /__sim/stats` (see gem_envoy/sim/stats.py for what each figure counts)."""

    requests: dict[str, int]  # by path, with its ?query
    requests_total: int
    by_method: dict[str, dict[str, int]]  # the same requests, by method first
    tls_handshakes: int
    check_jwt: int
    bytes_sent: int
    max_in_flight: int
    in_flight: int
    connections_open: int
    faults_applied: int
    paths: dict[str, PathStats]  # by path without the query, every method together
    streams_open: int  # /stream/meter streams being sent now
    max_streams_open: int


@dataclass
class SimProcess:
    process: subprocess.Popen[str]
    host: str
    port: int
    token_file: Path
    owner_token_file: Path

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    control: httpx.Client = field(
        # One kept-alive control connection, so asking for stats adds no TLS handshake of its own.
        default_factory=lambda: httpx.Client(
            verify=False, trust_env=False, timeout=10,
            limits=httpx.Limits(max_connections=1, keepalive_expiry=600),
        )
    )  # fmt: skip

    def _call(self, method: str, path: str, body: object = None) -> object:
        reply = self.control.request(method, self.url + path, json=body)
        reply.raise_for_status()
        return reply.json() if reply.content else None

    def stats(self) -> SimStats:
        value = self._call("GET", "/__sim/stats")
        # Every figure typed here is served (the simulator may serve more).
        assert isinstance(value, dict) and SimStats.__required_keys__ <= value.keys(), value
        return cast(SimStats, value)

    def requests_to(self, path: str) -> int:
        """Requests for `path` whatever their query (a poll may ask `?details=1`)."""
        return self.stats()["paths"].get(path, {"requests": 0, "bytes": 0})["requests"]

    def reset_stats(self) -> None:
        self._call("POST", "/__sim/stats/reset")

    def mint(self, user: str = "installer", lifetime_s: int = 3600, **extra: object) -> str:
        value = self._call(
            "POST", "/__sim/token", {"user": user, "lifetime_s": lifetime_s, **extra}
        )
        assert isinstance(value, dict)
        return str(value["token"])

    def plant(self, **overrides: object) -> None:
        self._call("POST", "/__sim/plant", overrides)

    def fault(self, **fault: object) -> None:
        self._call("POST", "/__sim/fault", fault)

    def clear_fault(self) -> None:
        self._call("DELETE", "/__sim/fault")


def gem_envoy(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the `gem-envoy` CLI as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "gem_envoy.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


@contextmanager
def simulator(tmp: Path, args: Sequence[str] = ()) -> Iterator[SimProcess]:
    """A simulator on a free port, with an installer and an owner token written to files."""
    token_file, owner_file = tmp / "installer.jwt", tmp / "owner.jwt"
    command = [
        sys.executable, "-m", "gem_envoy.cli", "simulate", "--host", "127.0.0.1", "--port", "0",
        "--token-file", str(token_file), "--owner-token-file", str(owner_file), *args,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        host, port = _wait_listening(process)
        sim = SimProcess(process, host, port, token_file, owner_file)
        try:
            yield sim
        finally:
            sim.control.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _wait_listening(process: subprocess.Popen[str], timeout_s: float = 30) -> tuple[str, int]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            err = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"simulator exited before listening: {err}")
        found = LISTENING.search(line)
        if found:
            return found.group(1), int(found.group(2))
    raise RuntimeError("simulator did not start listening in time")


def poll_json(sim: SimProcess, *extra: str) -> dict[str, object]:
    result = gem_envoy(
        "poll", "--ip", sim.host, "--port", str(sim.port),
        "--token-file", str(sim.token_file), *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert isinstance(value, dict)
    return value

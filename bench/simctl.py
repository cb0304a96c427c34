"""`gem-envoy simulate` as a process, and its counters read over HTTPS on 127.0.0.1.

Every control call opens a connection of its own and closes it: a stats read therefore counts
exactly one TLS handshake of its own (subtracted here), and a reset's handshake happens before
the reset and so is zeroed with the rest. The simulator's keep-alive timeout plays no part.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.protocol import stop_process
from bench.shapes import Shape

LISTENING = re.compile(r"listening on https://([\d.]+):(\d+)")
TOKEN_LIFETIME_S = 24 * 3600
START_TIMEOUT_S = 30.0


@dataclass
class SimCounters:
    """One `/__sim/stats` reading, less the reading's own connection."""

    requests: dict[str, int]
    requests_total: int
    tls_handshakes: int
    check_jwt: int
    bytes_sent: int

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SimCounters:
        return cls(
            requests={str(k): int(v) for k, v in doc["requests"].items()},
            requests_total=int(doc["requests_total"]),
            tls_handshakes=int(doc["tls_handshakes"]) - 1,  # this reading's own connection
            check_jwt=int(doc["check_jwt"]),
            bytes_sent=int(doc["bytes_sent"]),
        )


class Simulator:
    """A running `gem-envoy simulate` for one plant shape, with an installer token file."""

    def __init__(self, shape: Shape, gem_envoy: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.shape = shape
        self._dir = tempfile.TemporaryDirectory(prefix="gem-bench-sim-")
        self.token_file = Path(self._dir.name) / "installer.jwt"
        self._stderr = (Path(self._dir.name) / "stderr.log").open("w")
        self.process = subprocess.Popen(
            [
                str(gem_envoy), "simulate", "--host", "127.0.0.1", "--port", "0",
                "--token-file", str(self.token_file),
                "--token-lifetime", str(TOKEN_LIFETIME_S), *shape.simulate_args(), *extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )  # fmt: skip
        self.host, self.port = self._wait_listening()

    def _wait_listening(self) -> tuple[str, int]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = LISTENING.search(line)
            if match:
                return match.group(1), int(match.group(2))
        self._stderr.flush()
        error = (Path(self._dir.name) / "stderr.log").read_text()[-2000:]
        self.close()
        raise RuntimeError(f"gem-envoy simulate did not start for {self.shape.name}: {error}")

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        return self.token_file.read_text()

    def _call(self, method: str, path: str) -> Any:
        with httpx.Client(verify=False, trust_env=False, timeout=10.0) as client:
            reply = client.request(method, self.url + path, headers={"Connection": "close"})
            reply.raise_for_status()
            return reply.json()

    def counters(self) -> SimCounters:
        return SimCounters.from_json(self._call("GET", "/__sim/stats"))

    def stats(self) -> dict[str, Any]:
        """The whole `/__sim/stats` document (its reading's handshake included)."""
        document: dict[str, Any] = self._call("GET", "/__sim/stats")
        return document

    def reset(self) -> None:
        self._call("POST", "/__sim/stats/reset")

    def inverter_serials(self) -> list[str]:
        """The plant's microinverters, as a user would have added them as zones (set-up only:
        read before the counters are reset for a run)."""
        with httpx.Client(verify=False, trust_env=False, timeout=10.0) as client:
            reply = client.get(
                self.url + "/api/v1/production/inverters",
                headers={"Authorization": f"Bearer {self.token}", "Connection": "close"},
            )
            reply.raise_for_status()
            return [str(item["serialNumber"]) for item in reply.json() if item.get("devType") == 1]

    def close(self) -> None:
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()
        self._dir.cleanup()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

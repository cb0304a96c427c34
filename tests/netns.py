"""A network namespace of the test's own, for real multicast (mDNS) that leaves no trace on
the machine's networks: only `lo`, with multicast on and a route for 224.0.0.0/4, and the
test's addresses from 198.18.0.0/15 (set aside for tests, RFC 2544) added to it.

It needs root and `ip netns`. Without them the test skips, saying why, unless
GEM_ENVOY_REQUIRE_MULTICAST=1 (CI), where it fails instead. The namespace and every process
started in it are removed when the block ends.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

REQUIRE = "GEM_ENVOY_REQUIRE_MULTICAST"
_numbers = itertools.count()


def unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{reason}, and {REQUIRE}=1 requires the multicast tests")
    pytest.skip(reason)


def ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


@dataclass
class Process:
    """A process in the namespace, its output (stdout and stderr) read as it comes."""

    popen: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def wait_for(self, text: str, timeout_s: float = 30) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.popen.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; output so far:\n{''.join(self.seen)}")


@dataclass
class Netns:
    name: str
    processes: list[Process] = field(default_factory=list)

    def command(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def add_address(self, address: str) -> None:
        ip("-n", self.name, "addr", "add", f"{address}/32", "dev", "lo")

    def remove_address(self, address: str) -> None:
        ip("-n", self.name, "addr", "del", f"{address}/32", "dev", "lo")

    def gem_envoy(self, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """`gem-envoy ARGS` in the namespace, to its end."""
        return subprocess.run(
            self.command([sys.executable, "-m", "gem_envoy.cli", *args]),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> Process:
        """`gem-envoy ARGS` in the namespace, running until the namespace goes."""
        popen = subprocess.Popen(
            self.command([sys.executable, "-m", "gem_envoy.cli", *args]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        process = Process(popen)
        threading.Thread(target=_pump, args=(process,), daemon=True).start()
        self.processes.append(process)
        return process


def _pump(process: Process) -> None:
    assert process.popen.stdout is not None
    for line in process.popen.stdout:
        process.lines.put(line)


@contextmanager
def netns() -> Iterator[Netns]:
    if os.geteuid() != 0:
        unavailable("real multicast needs a network namespace, and that needs root")
    if shutil.which("ip") is None:
        unavailable("real multicast needs a network namespace: `ip` (iproute2) is missing")
    name = f"gemtest-{os.getpid()}-{next(_numbers)}"
    try:
        ip("netns", "add", name)
    except RuntimeError as exc:
        unavailable(f"cannot make a network namespace: {exc}")
    space = Netns(name)
    try:
        ip("-n", name, "link", "set", "lo", "multicast", "on", "up")
        ip("-n", name, "route", "add", "224.0.0.0/4", "dev", "lo")
        yield space
    finally:
        for process in space.processes:
            process.popen.terminate()
        for process in space.processes:
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        ip("netns", "del", name)

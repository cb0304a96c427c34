"""How the benchmark's processes talk: one JSON object per line on stdout, commands on stdin.

A child prints ``{"event": NAME, ...}`` lines and, where it must wait for the parent (so the
parent can read or reset the simulator's counters at the right moment), reads one command line
from stdin. Every wait on either side is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

Json = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(RuntimeError):
    """A child process exited, timed out or printed something unexpected."""


# -- inside a child ----------------------------------------------------------------------------


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def wait_command(timeout_s: float = 300.0) -> str:
    """The next command line from the parent ("" when stdin closed)."""
    line: str = await asyncio.wait_for(asyncio.to_thread(sys.stdin.readline), timeout_s)
    return line.strip()


# -- in the parent -------------------------------------------------------------------------------


class Child:
    """A ``python -m <module>`` process speaking the line protocol."""

    def __init__(self, module: str, args: list[str], *, env: dict[str, str] | None = None) -> None:
        self.module = module
        # Closed in `_close`, once the child is gone (a `with` cannot span the child's life).
        self._stderr = tempfile.TemporaryFile(mode="w+", prefix="bench-stderr-")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self._selector.register(self.process.stdout, selectors.EVENT_READ)

    def expect(self, event: str, timeout_s: float) -> Json:
        """Wait for the line ``{"event": event}``; other events are errors."""
        deadline = time.monotonic() + timeout_s
        assert self.process.stdout is not None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self.stderr_tail()
                self.kill()
                raise ChildFailed(f"{self.module}: no {event!r} within {timeout_s:g} s:\n{tail}")
            if not self._selector.select(left):
                continue
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(timeout=10)
                raise ChildFailed(
                    f"{self.module} exited ({self.process.returncode}) before {event!r}:\n"
                    f"{self.stderr_tail()}"
                )
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a stray print from a library; not ours
            if not isinstance(message, dict) or "event" not in message:
                continue
            if message["event"] == "error":
                self.kill()
                raise ChildFailed(f"{self.module}: {message.get('message')}")
            if message["event"] != event:
                self.kill()
                raise ChildFailed(f"{self.module}: expected {event!r}, got {message['event']!r}")
            return message

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def finish(self, timeout_s: float = 30.0) -> None:
        """Close stdin and wait for the child to exit by itself (killed after ``timeout_s``)."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._close()

    def stderr_tail(self, chars: int = 3000) -> str:
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-chars:]

    def _close(self) -> None:
        if self._selector.get_map() is not None:
            self._selector.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Ask a child to end (SIGTERM), and kill it if it has not within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

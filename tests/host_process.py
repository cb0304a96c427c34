"""`gem-envoy run` as a process of its own, on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"gem-envoy host on (http://127\.0\.0\.1:\d+)/")


@dataclass
class HostProcess:
    url: str
    db: Path
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)  # stdout and stderr, line by line


@contextmanager
def host_process(db: Path, admin_password: str) -> Iterator[HostProcess]:
    """The host serving `db` until the block ends; its output is collected as it comes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gem_envoy.cli", "run", "--db", str(db), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GEM_ENVOY_ADMIN_PASSWORD": admin_password},
    )
    output = process.stdout
    assert output is not None
    lines: list[str] = []
    try:
        while not (found := LISTENING.search(lines[-1] if lines else "")):
            line = output.readline()
            assert line, f"the host did not start: {''.join(lines)}"
            lines.append(line)
        reader = threading.Thread(target=lambda: lines.extend(iter(output.readline, "")))
        reader.start()
        yield HostProcess(found.group(1), db, process, lines)
    finally:
        process.terminate()
        process.wait(timeout=15)
    reader.join(timeout=5)

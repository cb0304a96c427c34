"""How long the command line takes to answer: `gem-envoy --help` and `device list`, each
run as a fresh process (as a user or a script does), the median of a few runs.

Most of a start-up is imports; the verbs import what only they need (the web stack, aiohttp,
the simulator, zeroconf) when they run, so that these two stay well under half a second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.protocol import ROOT

CALLS = {
    "help": ("--help",),
    "device_list": ("device", "list"),
}


def _seconds(args: tuple[str, ...], db: Path) -> float:
    extra = ("--db", str(db)) if args[0] == "device" else ()
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gem_envoy.cli", *args, *extra],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return time.perf_counter() - began


def run(repeats: int = 3) -> dict[str, Any]:
    """Median wall seconds per call, and every sample."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "gem.db"
        _seconds(CALLS["device_list"], db)  # the first call creates the database: not timed
        samples = {
            name: [_seconds(args, db) for _ in range(repeats)] for name, args in CALLS.items()
        }
    return {
        "repeats": repeats,
        **{f"{name}_s": statistics.median(s) for name, s in samples.items()},
        "samples_s": samples,
    }

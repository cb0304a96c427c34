"""`gem-envoy --help` and `device list` start fast: the heavy packages (the web stack,
aiohttp, zeroconf, PyJWT, the simulator's server) are imported only by the verbs that use
them. Timed in `make bench` (bench/startup.py); here, what is imported, which does not vary
with the machine's load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gem_envoy.cli import discover_verbs
from gem_envoy.envoy import discovery

HEAVY = ("fastapi", "uvicorn", "starlette", "aiohttp", "zeroconf", "jwt", "gem_envoy.sim.server")

PROBE = """
import contextlib, io, json, sys
from gem_envoy.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {0} or m in {0})))
"""


def imported(*args: str) -> list[str]:
    probe = PROBE.replace("{0}", repr(set(HEAVY)))
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_help_and_device_list_import_nothing_heavy(tmp_path: Path) -> None:
    assert imported("--help") == []
    assert imported("device", "list", "--db", str(tmp_path / "gem.db")) == []


def test_discover_states_the_discoverys_own_default_timeout() -> None:
    assert discover_verbs.DEFAULT_TIMEOUT_S == discovery.DEFAULT_TIMEOUT_S

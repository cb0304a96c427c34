"""The README's walkthrough against the simulator, run word for word as the README shows it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "walkthrough.sh"


def test_the_readme_shows_the_script_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```sh\n{SCRIPT.read_text(encoding='utf-8')}```" in readme


def test_the_walkthrough_runs_against_the_simulator(tmp_path: Path) -> None:
    # The virtualenv "active": its gem-envoy first on PATH, as the script's header asks.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        ["sh", str(SCRIPT)],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"token_type": "installer"' in result.stdout  # the poll
    assert '"487442000000"' in result.stdout  # get_inverters lists the zone's serial
    assert '"name": "roof-1"' in result.stdout and '"token": "********"' in result.stdout
    assert "warning" not in result.stderr  # the zone's serial is one the gateway has
    assert (tmp_path / "envoy.jwt").stat().st_mode & 0o777 == 0o600

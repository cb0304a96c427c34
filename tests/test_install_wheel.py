"""The wheel, installed as a homeowner installs it (outside any clone), runs `gem-envoy demo`.

Offline: the wheel is built with the project venv's hatchling (no build isolation), and the
fresh virtualenv borrows its *dependencies* from the project venv through a path file. That
path file names the project venv's site-packages as a plain directory, so the editable
install's own path file there (which puts src/ on sys.path) is never read: gem_envoy, its web
files and its SQL migrations can only come from the wheel.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "wheel-demo-password-1"
PAGE = re.compile(r"(http://127\.0\.0\.1:\d+)/")
# What the package reads from its own folder at run time, besides Python modules.
DATA_FILES = (
    "gem_envoy/host/store/migrations/0001_initial.sql",
    "gem_envoy/host/web/static/index.html",
    "gem_envoy/host/web/static/app.css",
    "gem_envoy/host/web/static/js/main.js",
    "gem_envoy/drivers/enphase_envoy/web/overview.js",
    "gem_envoy/drivers/enphase_envoy/web/solar.css",
)


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = out.glob("gem_envoy-*.whl")
    return wheel


def fresh_venv(venv: Path, wheel: Path) -> Path:
    """A virtualenv holding the wheel, with the project venv's packages as its dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "zz_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return python


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["GEM_ENVOY_ADMIN_PASSWORD"] = PASSWORD
    return env


def test_the_wheel_carries_the_web_files_and_migrations(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    assert not [name for name in DATA_FILES if name not in names]


def test_the_installed_wheel_runs_the_demo_outside_the_repository(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "wheels"))
    home = tmp_path / "home"
    home.mkdir()
    found = subprocess.run(
        [str(python), "-c", "import gem_envoy; print(gem_envoy.__file__)"],
        cwd=home,
        env=clean_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(tmp_path / "venv"), found

    process = subprocess.Popen(
        [str(python.parent / "gem-envoy"), "demo", "--db", str(home / "state" / "gem.db"),
         "--listen", "127.0.0.1:0"],
        cwd=home,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        url = _page_address(process, seen)
        with httpx.Client(base_url=url, timeout=10) as api:
            page = api.get("/")
            assert page.status_code == 200 and "<html" in page.text.lower()
            assert api.get("/js/main.js").status_code == 200
            assert api.get("/drivers/enphase_envoy/overview.js").status_code == 200
            login = api.post("/api/token", json={"username": "admin", "password": PASSWORD})
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            devices = api.get("/api/data/devices", headers=bearer)
            assert devices.status_code == 200 and len(devices.json()) == 1, devices.text
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    log = "".join(seen) + rest
    assert "Traceback" not in log, log


def _page_address(process: subprocess.Popen[str], seen: list[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        found = PAGE.search(line) if "web page" in line else None
        if found:
            return found.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError("the installed demo did not start: " + "".join(seen))

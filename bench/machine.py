"""What the benchmark ran on: CPU count and model, Python, load while it ran."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def code_state() -> dict[str, Any]:
    """The commit measured, and which files under src/ differ from it (read-only git)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.rstrip() if done.returncode == 0 else ""

    changed = [line for line in git("status", "--porcelain", "--", "src", "pyproject.toml")
               .splitlines() if line.strip()]  # fmt: skip
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted": [c[3:] for c in changed]}


def describe() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count() or 0,
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
        "code": code_state(),
    }

"""Where the real gateway captures live, for tests that replay them.

The captures are shared data outside the repository (`/work/shared/captures` beside
`/work/main`); tests read them in place and skip, saying why, when they are not there.
Set `GEM_ENVOY_CAPTURES` to use another directory. `capture_transport` serves one folder from
memory to an `EnvoyClient`, as `gem-envoy simulate --capture` would over HTTPS.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from gem_envoy.sim.capture_transport import CaptureTransport

ENV_VAR = "GEM_ENVOY_CAPTURES"
# tests/captures.py -> parents[1] is the repository; the shared data sits beside it.
DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "captures"


def captures_dir() -> Path | None:
    """The captures directory, or None when it does not exist."""
    override = os.environ.get(ENV_VAR)
    path = Path(override) if override else DEFAULT_DIR
    return path if path.is_dir() else None


def require_captures() -> Path:
    """The captures directory; skips the calling test when it is missing."""
    path = captures_dir()
    if path is None:
        where = os.environ.get(ENV_VAR) or str(DEFAULT_DIR)
        pytest.skip(f"../shared/captures not found: {where} (set {ENV_VAR} to point elsewhere)")
    return path


def capture_transport(folder: str) -> CaptureTransport:
    """Capture folder `folder` served from memory; skips the calling test when it is missing."""
    path = require_captures() / folder
    if not path.is_dir():
        pytest.skip(f"capture folder {folder} not found in {path.parent}")
    return CaptureTransport(path)


def capture_folders() -> list[str]:
    """Sorted names of the capture folders (one per gateway); empty when captures are absent."""
    path = captures_dir()
    if path is None:
        return []
    return sorted(entry.name for entry in path.iterdir() if entry.is_dir())


def firmware_major(folder: str) -> int:
    """The firmware major version a folder is named after: 7 for `7.6.175_with_cts`; 0 if none."""
    match = re.match(r"[0-9]+", folder)
    return int(match.group()) if match else 0


def capture_status(folder: str, name: str) -> int | None:
    """The HTTP code in the file's `<name>_log.json` sidecar; None without a sidecar."""
    root = captures_dir()
    if root is None:
        return None
    sidecar = root / folder / f"{name}_log.json"
    if not sidecar.is_file():
        return None
    code = json.loads(sidecar.read_text(encoding="utf-8")).get("code")
    return code if isinstance(code, int) else None


def real_body(folder: str, name: str) -> bytes | None:
    """The captured body of endpoint file `name`, if present and really served with 200.

    A file whose sidecar gives another code is an error page, not a body of that endpoint.
    """
    root = captures_dir()
    if root is None:
        return None
    path = root / folder / name
    if not path.is_file() or capture_status(folder, name) not in (None, 200):
        return None
    return path.read_bytes()


def captured_body(folder: str, name: str) -> bytes:
    """The captured body of `folder`/`name` as `real_body` finds it; skips the calling test,
    saying which, when the captures or that file are not there."""
    require_captures()
    body = real_body(folder, name)
    if body is None:
        pytest.skip(f"capture {folder}/{name} not present (or not served with 200)")
    return body


def _json_file(folder: str, name: str) -> object:
    body = real_body(folder, name)
    try:
        return None if body is None else json.loads(body)
    except ValueError:
        return None


def has_encharge(folder: str) -> bool:
    """Whether the folder's battery inventory lists at least one Encharge."""
    inventory = _json_file(folder, "ivp_ensemble_inventory")
    groups = inventory if isinstance(inventory, list) else []
    return any(g.get("type") == "ENCHARGE" and g.get("devices") for g in groups)


def storage_settings(folder: str) -> dict[str, object] | None:
    """`tariff.storage_settings` of the folder's captured tariff, if it has one."""
    document = _json_file(folder, "admin_lib_tariff")
    tariff = document.get("tariff") if isinstance(document, dict) else None
    settings = tariff.get("storage_settings") if isinstance(tariff, dict) else None
    return settings if isinstance(settings, dict) else None


def battery_settings_folders(*, encharge: bool) -> list[str]:
    """Token-era folders whose tariff has storage settings, with or without an Encharge."""
    return [
        f
        for f in capture_folders()
        if firmware_major(f) >= 7
        and storage_settings(f) is not None
        and has_encharge(f) == encharge
    ]

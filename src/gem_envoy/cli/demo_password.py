"""The demo's admin password: the same at every start, so that a page left open or a
password noted down still works after a restart.

It is kept beside the demo's database, readable by its owner only. $GEM_ENVOY_ADMIN_PASSWORD,
when set, is used instead (and nothing is stored).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gem_envoy.host.users import ADMIN_PASSWORD_ENV

PASSWORD_FILE = "admin-password"


def demo_password(folder: Path) -> str:
    chosen = os.environ.get(ADMIN_PASSWORD_ENV)
    if chosen:
        return chosen
    path = folder / PASSWORD_FILE
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    password = secrets.token_urlsafe(12)  # 16 characters
    folder.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: never readable by others, not even for an instant.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    return password

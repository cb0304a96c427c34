"""`gem-envoy apikey create|list|revoke` on a real database file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.simulator import gem_envoy


def apikey(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return gem_envoy("apikey", args[0], "--db", str(db), *args[1:])


def ok(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_key_is_shown_once_stored_hashed_and_revoked(tmp_path: Path) -> None:
    db = tmp_path / "gem.db"
    created = ok(apikey(db, "create", "prometheus"))
    assert isinstance(created, dict)
    key = created["key"]
    assert created["role"] == "metrics" and key.startswith("gemk_") and len(key) > 40
    assert ok(apikey(db, "create", "grafana", "--role", "user"))
    listed = ok(apikey(db, "list"))
    assert isinstance(listed, list)
    assert [(k["name"], k["role"]) for k in listed] == [
        ("grafana", "user"),
        ("prometheus", "metrics"),
    ]
    assert all("key" not in k for k in listed)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("gem.db"))
    assert key.encode() not in stored  # the database and its WAL hold only the digest

    again = apikey(db, "create", "prometheus")
    assert again.returncode == 1
    assert again.stderr.strip() == "gem-envoy: there is already an API key named 'prometheus'"
    assert ok(apikey(db, "revoke", "prometheus")) == {"revoked": "prometheus"}
    gone = apikey(db, "revoke", "prometheus")
    assert gone.returncode == 1 and "no API key named 'prometheus'" in gone.stderr
    refused = apikey(db, "create", "root", "--role", "admin")
    assert refused.returncode == 2  # argparse: not a key role

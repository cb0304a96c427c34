"""Sessions live in the database, hashed: a restart signs nobody out, no token is ever written
to disk, and a user changed from the CLI (another process) loses access at once."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from gem_envoy.host.service import Host as Service
from gem_envoy.host.service import bound_port, serving
from gem_envoy.host.users import ADMIN

from .conftest import Host

PASSWORD = "owner-password-1"


async def sign_in(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.post("/api/token", json={"username": "owner", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str)
    return token


async def session_of(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.get("/api/session", headers={"Authorization": f"Bearer {token}"})


def files_of(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))


async def test_a_restart_keeps_everyone_signed_in(tmp_path: Path) -> None:
    db = tmp_path / "gem.db"
    service = await Service.open(db, {}, polling=False)
    try:
        await service.store.add_user("owner", PASSWORD, ADMIN)
        async with serving(service, "127.0.0.1", 0) as server:
            url = f"http://127.0.0.1:{bound_port(server)}"
            token = await sign_in(url)
            revoked = await sign_in(url)
            async with httpx.AsyncClient(base_url=url) as client:
                bearer = {"Authorization": f"Bearer {revoked}"}
                assert (await client.post("/api/logout", headers=bearer)).status_code == 204
            stored = files_of(db)
    finally:
        await service.close()

    # Only the SHA-256 of a token reaches the files, never the token.
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored + files_of(db)
    assert token.encode() not in stored + files_of(db)

    service = await Service.open(db, {}, polling=False)
    try:
        async with serving(service, "127.0.0.1", 0) as server:
            url = f"http://127.0.0.1:{bound_port(server)}"
            answer = await session_of(url, token)
            assert answer.status_code == 200, answer.text
            assert answer.json()["username"] == "owner"
            assert (await session_of(url, revoked)).status_code == 401  # still signed out
    finally:
        await service.close()


async def gem_envoy_cli(*args: str, password: str | None = None) -> str:
    """Runs `gem-envoy ARGS` as its own process (the password from the environment, as a
    user would give it); returns what it printed."""
    env = {name: value for name, value in os.environ.items() if name != "GEM_ENVOY_PASSWORD"}
    if password is not None:
        env["GEM_ENVOY_PASSWORD"] = password
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gem_envoy.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


async def test_a_change_from_the_cli_signs_the_user_out_of_the_running_service(
    host: Host,
) -> None:
    db = str(host.store.path)
    assert (await host.user.get("/api/session")).status_code == 200
    printed = await gem_envoy_cli(
        "user", "passwd", "alice", "--db", db, password="alice-password-2"
    )
    assert "alice-password-2" not in printed
    assert (await host.user.get("/api/session")).status_code == 401
    assert (await host.admin.get("/api/session")).status_code == 200

    alice = await host.anon.post(
        "/api/token", json={"username": "alice", "password": "alice-password-2"}
    )
    async with host.client(alice.json()["token"]) as signed_in:
        await gem_envoy_cli("user", "logout", "alice", "--db", db)
        assert (await signed_in.get("/api/session")).status_code == 401

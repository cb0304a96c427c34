"""The Enlighten password and e-mail address, and every token minted from them, appear in no
log line, attribute, history row, API answer or event, and never in clear in the database.

`gem-envoy run` (its log is its output) against `gem-envoy simulate` with its cloud; tokens
live 20 seconds, so one is minted at connect and another renewed while the test watches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store
from tests.cloud_sim import EMAIL, PASSWORD, CloudProcess, cloud_simulator
from tests.host_process import HostProcess, host_process

ADMIN_PASSWORD = "token-secrets-admin-1"


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudProcess]:
    with cloud_simulator(tmp_path, ["--inverters", "2", "--cloud-token-lifetime", "20"]) as c:
        for name, value in c.env.items():
            monkeypatch.setenv(name, value)  # the host process inherits them
        yield c


@pytest.fixture
def host(tmp_path: Path, cloud: CloudProcess) -> Iterator[HostProcess]:
    with host_process(tmp_path / "gem.db", ADMIN_PASSWORD) as running:
        yield running


async def stored_tokens(db: Path) -> set[str]:
    """Every token the host stored (current and previous), decrypted with its key."""
    store = await Store.open(db, KeyRing.load_or_create(db))
    try:
        token = (await store.get_attributes("device", 1))["token"]
    finally:
        await store.close()
    return {str(v) for v in (token.value, token.previous) if v is not None}


def secret_parts(secrets: set[str]) -> set[str]:
    """Each secret, and each token's signature on its own (enough to give a token away)."""
    return secrets | {s.rsplit(".", 1)[-1] for s in secrets if s.count(".") == 2}


async def test_credentials_and_tokens_are_found_nowhere_in_clear(
    cloud: CloudProcess, host: HostProcess
) -> None:
    answers: list[str] = []
    events: list[str] = []
    async with httpx.AsyncClient(base_url=host.url, timeout=30) as api:
        login = await api.post("/api/token", json={"username": "admin", "password": ADMIN_PASSWORD})
        api.headers["Authorization"] = f"Bearer {login.json()['token']}"
        values = {
            "ip": cloud.sim.host, "port": cloud.sim.port, "polling_interval": 5000,
            "enlighten_email": EMAIL, "enlighten_password": PASSWORD,
        }  # fmt: skip
        async with api.stream("GET", "/api/events") as stream:
            created = await api.post(
                "/api/data/devices",
                json={"name": "envoy", "driver": "enphase_envoy", "attributes": values},
            )
            answers.append(created.text)
            async with asyncio.timeout(40):
                async for chunk in stream.aiter_text():
                    events.append(chunk)
                    if "".join(events).count("token_expires_at") >= 2:  # minted, then renewed
                        break
        for path in ("/api/attributes/device/1", "/api/attributes/device/1/details",
                     "/api/data/devices", "/api/drivers/enphase_envoy",
                     "/api/history/device/1/token?since=0"):  # fmt: skip
            answers.append((await api.get(path)).text)
        await api.post("/api/control/command", json={"device": 1, "action": "get_info"})
    assert "********" in answers[1]  # the secure values were there, masked
    host.process.terminate()
    host.process.wait(timeout=15)

    tokens = await stored_tokens(host.db)
    assert len(tokens) == 2 and cloud.cloud()["tokens_minted"] >= 2
    texts = {"API answers": "".join(answers), "events": "".join(events), "log": "".join(host.log)}
    assert "token renewed, valid until" in texts["log"]
    for secret in secret_parts({PASSWORD, EMAIL, *tokens}):
        for what, text in texts.items():
            assert secret not in text, what
        for file in host.db.parent.glob(host.db.name + "*"):
            assert secret.encode() not in file.read_bytes(), file

"""A gateway that echoes its token back gets it stored, logged or answered nowhere.

The host runs as `gem-envoy run` (its log is its stderr), the gateway is the simulator
wrapped by `tests.hostile.EchoingGateway`; the token is searched for, as bytes, in every
attribute, history row, log line, API answer and event, and in the database and its WAL.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.host_process import HostProcess, host_process
from tests.hostile import EchoingGateway

PASSWORD = "echo-test-password-1"


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[SimServer, EchoingGateway]]:
    hostile = EchoingGateway()
    server = await start_simulator(SimOptions(inverters=4), wrap=hostile.wrap)
    hostile.token = server.mint_token("installer", 3600)
    try:
        yield server, hostile
    finally:
        await server.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[HostProcess]:
    with host_process(tmp_path / "gem.db", PASSWORD) as running:
        yield running


async def wait_for(api: httpx.AsyncClient, url: str, pattern: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = (await api.get(url)).text
        if re.search(pattern, text):
            return text
        await asyncio.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared in {url}")


async def test_an_echoed_token_is_masked_everywhere(
    gateway: tuple[SimServer, EchoingGateway], host: HostProcess
) -> None:
    server, hostile = gateway
    url, log, db = host.url, host.log, host.db
    token = hostile.token
    signature = token.rsplit(".", 1)[-1]
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        login = await api.post("/api/token", json={"username": "admin", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {login.json()['token']}"
        events: list[str] = []
        async with api.stream("GET", "/api/events") as stream:
            created = await api.post(
                "/api/data/devices",
                json={
                    "name": "envoy",
                    "driver": "enphase_envoy",
                    "attributes": {"ip": server.host, "port": server.port, "token": token},
                },
            )
            device = created.json()["id"]
            attrs = f"/api/attributes/device/{device}"
            # The echoed serial is stored (masked), then the echoing error body fails the poll.
            await wait_for(api, attrs, r"expired session; token \*+")
            # A command's answer quotes the gateway's firmware, and so the token.
            answers = [
                await api.post(
                    "/api/control/command", json={"device": device, "action": "get_info"}
                )
            ]
            # The old-firmware refusal quotes the firmware whole: restart the driver to see it.
            hostile.mode = "d5"
            await api.put(attrs, json={"request_timeout": 9000})
            await wait_for(api, attrs, r"unsupported firmware D5\.0\.34 \*+")
            answers.append(await api.get(attrs))
            answers.append(await api.get(f"{attrs}/details"))
            async for chunk in stream.aiter_text():
                events.append(chunk)
                if "unsupported firmware" in "".join(events):
                    break
    texts = {
        "API answers": "".join(a.text for a in answers),
        "events": "".join(events),
        "log": "".join(log),
    }
    assert "SN-********" in texts["API answers"]  # the echo arrived, masked
    for what, text in texts.items():
        assert token not in text, what
        assert signature not in text, what
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            data = path.read_bytes()
            assert token.encode() not in data, path
            assert signature.encode() not in data, path

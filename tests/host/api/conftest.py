"""A real host for API tests: store on tmp_path, supervisor running a fake driver, and the
API served by uvicorn on 127.0.0.1, spoken to with httpx over TCP."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from gem_envoy.host.api import ApiContext, LoginLimiter, Sessions, create_app
from gem_envoy.host.device_service import DeviceService
from gem_envoy.host.events import EventHub
from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor
from gem_envoy.host.users import ADMIN, USER
from tests.fakes import FakeDriver as FakeDriver  # re-exported: the API tests import it here

PASSWORDS = {"root": "root-password-1", "alice": "alice-password-1"}
# A device token as a real gateway would hand out: long, random, and never to be shown.
SECRET = "devtok-" + secrets.token_hex(24)


@dataclass
class Clock:
    """Epoch seconds that a test can move forward."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Host:
    url: str
    context: ApiContext
    clock: Clock
    anon: httpx.AsyncClient
    admin: httpx.AsyncClient = field(init=False)
    user: httpx.AsyncClient = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.context.store

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10)

    async def login(self, username: str) -> str:
        answer = await self.anon.post(
            "/api/token", json={"username": username, "password": PASSWORDS[username]}
        )
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        assert isinstance(token, str)
        self.tokens[username] = token
        return token

    async def add_device(self, name: str = "meter", **fields: object) -> dict[str, Any]:
        answer = await self.admin.post(
            "/api/data/devices", json={"name": name, "driver": "fake", **fields}
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert isinstance(body, dict)
        return body

    def driver_of(self, device_id: object) -> FakeDriver:
        found = FakeDriver.of_device(device_id)
        assert found, f"no driver running for device {device_id}"
        return found[-1]


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """The app on a free port of 127.0.0.1, for as long as the block runs."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why the server could not start
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the two users, made once: hashing their passwords is slow on purpose,
    and every test copies this instead."""
    folder = tmp_path_factory.mktemp("template")

    async def build() -> None:
        store = await Store.open(folder / "host.db", KeyRing.load_or_create(folder / "host.db"))
        try:
            await store.add_user("root", PASSWORDS["root"], ADMIN)
            await store.add_user("alice", PASSWORDS["alice"], USER)
        finally:
            await store.close()

    asyncio.run(build())
    return folder


@pytest.fixture
async def host(tmp_path: Path, template_db: Path) -> AsyncIterator[Host]:
    folder = tmp_path / "api"
    shutil.copytree(template_db, folder)
    store = await Store.open(folder / "host.db", KeyRing.load_or_create(folder / "host.db"))
    events = EventHub()
    supervisor = Supervisor(store, {"fake": FakeDriver}, events)
    await supervisor.start()
    clock = Clock()
    context = ApiContext(
        store=store,
        supervisor=supervisor,
        devices=DeviceService(store, supervisor.drivers, supervisor.reload),
        events=events,
        version="9.9.9-test",
        sessions=Sessions(clock=clock),
        # Tiny delays keep the tests fast; test_auth checks the real growth.
        limiter=LoginLimiter(delay_step_s=0.01),
        keepalive_s=0.3,
    )
    try:
        async with serve(create_app(context)) as url, httpx.AsyncClient(base_url=url) as anon:
            found = Host(url, context, clock, anon)
            # Straight from the session table: logging in is tested on its own, and each
            # login through the API costs a deliberately slow password check.
            admin_token, _ = context.sessions.create("root", ADMIN)
            user_token, _ = context.sessions.create("alice", USER)
            found.tokens = {"root": admin_token, "alice": user_token}
            async with found.client(admin_token) as admin, found.client(user_token) as user:
                found.admin, found.user = admin, user
                yield found
    finally:
        await supervisor.stop()
        await store.close()

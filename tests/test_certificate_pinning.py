"""The gateway's identity, trusted on first use: a host polls a simulated gateway, which is then
replaced, on the same port, by a simulator with another certificate. Its counters and the
requests it saw prove that it never received the token."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.envoy.certificate import shown
from gem_envoy.host.service import Host, bound_port, serving
from gem_envoy.host.types import AttributeValue
from gem_envoy.host.users import ADMIN, USER
from gem_envoy.sim import SimOptions, SimServer, TokenIssuer, start_simulator
from gem_envoy.sim.certs import make_server_context
from gem_envoy.sim.http import Exchange, Handler, Request
from tests.eventually import eventually

INTERVAL_MS = 5000
PASSWORDS = {"admin": "admin-password-1", "alice": "alice-password-1"}


@dataclass
class Seen:
    """Every gateway request a simulator received, as it arrived."""

    requests: list[Request] = field(default_factory=list)

    def wrap(self, inner: Handler) -> Handler:
        async def handle(request: Request, exchange: Exchange) -> None:
            self.requests.append(request)
            await inner(request, exchange)

        return handle

    def carried_a_secret(self) -> list[str]:
        return [
            r.target
            for r in self.requests
            if r.header("authorization") or "sessionid" in (r.header("cookie") or "").lower()
        ]


@dataclass
class Stack:
    host: Host
    url: str
    issuer: TokenIssuer
    gateway: SimServer
    device_id: int = 0

    async def value(self, name: str) -> AttributeValue | None:
        attribute = (await self.host.store.get_attributes("device", self.device_id)).get(name)
        return None if attribute is None else attribute.value

    async def replace_gateway(self, **options: object) -> Seen:
        """Another simulator on the gateway's port: a new certificate unless told otherwise."""
        port = self.gateway.port
        await self.gateway.close()
        seen = Seen()
        settings = SimOptions(inverters=2, port=port, issuer=self.issuer, **options)  # type: ignore[arg-type]
        self.gateway = await start_simulator(settings, wrap=seen.wrap)
        return seen


@asynccontextmanager
async def running_stack(tmp_path: Path, cert_days: int = 3650) -> AsyncIterator[Stack]:
    """A host polling a simulated gateway whose certificate expires in `cert_days`."""
    issuer = TokenIssuer()  # the gateway's token rules survive its replacement
    context = make_server_context(validity=dt.timedelta(days=cert_days))
    gateway = await start_simulator(SimOptions(inverters=2, issuer=issuer, ssl_context=context))
    host = await Host.open(tmp_path / "gem.db", DRIVERS)
    stack = Stack(host, "", issuer, gateway)
    for name, password in PASSWORDS.items():
        await host.store.add_user(name, password, ADMIN if name == "admin" else USER)
    try:
        async with serving(host, "127.0.0.1", 0) as server:
            stack.url = f"http://127.0.0.1:{bound_port(server)}"
            values: dict[str, AttributeValue] = {
                "ip": gateway.host, "port": gateway.port, "polling_interval": INTERVAL_MS,
                "token": gateway.mint_token("installer", 365 * 86400),
            }  # fmt: skip
            device = await host.devices.create("envoy", "enphase_envoy", attributes=values)
            stack.device_id = device.id
            await eventually(lambda: stack_online(stack), what="the device online")
            yield stack
    finally:
        await host.close()
        await stack.gateway.close()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path) as running:
        yield running


async def stack_online(stack: Stack) -> bool:
    return await stack.value("online") is True and await stack.value("last_error") == ""


async def signed_in(api: httpx.AsyncClient, name: str) -> dict[str, str]:
    login = await api.post("/api/token", json={"username": name, "password": PASSWORDS[name]})
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def test_a_new_certificate_gets_no_token_until_an_admin_accepts_it(stack: Stack) -> None:
    trusted = await stack.value("certificate_sha256")
    assert isinstance(trusted, str) and len(trusted) == 64
    seen = await stack.replace_gateway()  # same serial, same token rules: a reset gateway

    async def refused() -> bool:
        return "certificate changed" in str(await stack.value("last_error"))

    await eventually(refused, timeout_s=INTERVAL_MS / 1000 * 3, what="the refusal")
    error = str(await stack.value("last_error"))
    pending = await stack.value("certificate_pending_sha256")
    assert isinstance(pending, str) and pending != trusted
    assert shown(trusted) in error and shown(pending) in error and "accept_certificate" in error
    assert seen.carried_a_secret() == [] and stack.gateway.stats.check_jwt == 0
    assert {r.path for r in seen.requests} <= {"/info"}

    async with httpx.AsyncClient(base_url=stack.url) as api:
        accept = {"device": stack.device_id, "action": "accept_certificate"}
        as_user = await api.post(
            "/api/control/command", json=accept, headers=await signed_in(api, "alice")
        )
        assert as_user.status_code == 403
        answer = await api.post(
            "/api/control/command", json=accept, headers=await signed_in(api, "admin")
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["connected"] is True
    await eventually(lambda: stack_online(stack), timeout_s=INTERVAL_MS / 1000 * 2 + 2)
    assert await stack.value("certificate_sha256") == pending
    assert await stack.value("certificate_pending_sha256") is None


async def test_another_gateway_at_the_address_gets_no_token(stack: Stack) -> None:
    seen = await stack.replace_gateway(serial="122399999999")

    async def refused() -> bool:
        return "a different gateway answers" in str(await stack.value("last_error"))

    await eventually(refused, timeout_s=INTERVAL_MS / 1000 * 3, what="the refusal")
    assert "serial 122399999999, expected 122300000001" in str(await stack.value("last_error"))
    assert seen.carried_a_secret() == [] and stack.gateway.stats.check_jwt == 0


async def test_the_yearly_renewal_of_the_certificate_is_accepted_by_itself(
    tmp_path: Path,
) -> None:
    async with running_stack(tmp_path, cert_days=10) as stack:
        await _renewed_certificate_is_trusted(stack)


async def _renewed_certificate_is_trusted(stack: Stack) -> None:
    trusted = await stack.value("certificate_sha256")
    seen = await stack.replace_gateway()  # the same gateway, its certificate renewed

    async def renewed() -> bool:
        return await stack.value("certificate_sha256") not in (None, trusted)

    await eventually(renewed, timeout_s=INTERVAL_MS / 1000 * 3, what="the new certificate")
    await eventually(lambda: stack_online(stack), timeout_s=INTERVAL_MS / 1000 * 2 + 2)
    # First who it is (no token), and the token only once it was recognised.
    assert seen.requests[0].path == "/info" and not seen.requests[0].header("authorization")
    polled = ("/production.json", "/ivp/meters/readings")  # a poll's reads on a CT plant
    assert any(path.startswith(polled) for path in seen.carried_a_secret())

"""The simulator's cloud: Enlighten's sign-in and Entrez's tokens as section 4 describes
them, over HTTPS that a verifying client accepts, and the switches of /__sim/cloud."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gem_envoy.sim import SimServer
from tests.cloud_sim import EMAIL, PASSWORD, InProcessCloud, cloud_gateway
from tests.simulator import gem_envoy

from .helpers import client, get_stats


@pytest.fixture
async def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[InProcessCloud]:
    async with cloud_gateway(tmp_path, monkeypatch, account=f"{EMAIL}:{PASSWORD}:installer") as c:
        yield c


def verifying(cloud: InProcessCloud) -> httpx.AsyncClient:
    """A client that checks the cloud's certificate and host name against its CA only."""
    context = ssl.create_default_context(cafile=str(cloud.ca_file))
    return httpx.AsyncClient(base_url=cloud.url, verify=context, trust_env=False, timeout=10)


async def sign_in(http: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    form = {"user[email]": EMAIL, "user[password]": password}
    return await http.post("/login/login.json", data=form)


async def test_sign_in_then_a_token_the_gateway_accepts(cloud: InProcessCloud) -> None:
    async with verifying(cloud) as http:
        signed = await sign_in(http)
        assert signed.status_code == 200 and signed.json()["is_consumer"] is False
        session_id = signed.json()["session_id"]
        assert signed.cookies["_enlighten_4_session"] == session_id
        body = {"session_id": session_id, "serial_num": cloud.server.serial, "username": EMAIL}
        token = (await http.post("/tokens", json=body)).text
    assert cloud.server.auth.issuer.verify(token, cloud.server.serial) == "installer"
    assert cloud.state["sign_ins"] == 1 and cloud.state["tokens_minted"] == 1


async def test_each_switch_answers_as_the_field_saw_it(cloud: InProcessCloud) -> None:
    async with verifying(cloud) as http:
        assert (await sign_in(http, "wrong")).status_code == 401
        cloud.behave(mfa=True)
        mfa = await sign_in(http)
        assert mfa.json() == {"success": True, "isBlocked": False}
        assert "login_otp_nonce" in mfa.cookies
        cloud.behave(mfa=False, too_many_sessions=True)
        assert "Too many active sessions" in (await sign_in(http)).text
        cloud.behave(too_many_sessions=False, tokens_400=True)
        session_id = (await sign_in(http)).json()["session_id"]
        body = {"session_id": session_id, "serial_num": cloud.server.serial, "username": EMAIL}
        assert (await http.post("/tokens", json=body)).status_code == 400
        flow_b = await http.get("/entrez-auth-token", params={"serial_num": cloud.server.serial})
        assert set(flow_b.json()) == {"token", "generation_time", "expires_at"}
        cloud.behave(wrong_serial=True)
        refused = await http.get("/entrez-auth-token", params={"serial_num": cloud.server.serial})
        assert refused.status_code == 403


async def test_stats_name_the_cloud_and_the_control_route_refuses_nonsense(
    cloud: InProcessCloud,
) -> None:
    server: SimServer = cloud.server
    async with client(server) as http:
        assert (await get_stats(http))["cloud"] == cloud.url
        assert (await http.post("/__sim/cloud", json={"nonsense": True})).status_code == 400
        state = (await http.post("/__sim/cloud", json={"token_lifetime_s": 60})).json()
    assert state["behaviour"]["token_lifetime_s"] == 60


def test_a_malformed_cloud_account_is_refused() -> None:
    result = gem_envoy("simulate", "--port", "0", "--cloud-account", "no-password")
    assert result.returncode == 2
    assert "EMAIL:PASSWORD" in result.stderr

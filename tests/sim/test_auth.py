"""Tokens, sessions and scopes, over real HTTPS."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from gem_envoy.sim import SimServer, TokenIssuer

from .conftest import MakeSim
from .helpers import client, get_stats

OWNER_OK = [
    "/production.json",
    "/production.json?details=1",
    "/api/v1/production",
    "/ivp/meters",
    "/ivp/meters/readings",
    "/admin/lib/tariff",
    "/ivp/livedata/status",
]
INSTALLER_ONLY = [
    "/api/v1/production/inverters",
    "/ivp/ensemble/inventory",
    "/ivp/ensemble/power",
    "/ivp/ensemble/secctrl",
    "/ivp/ensemble/status",
]


async def test_check_jwt_sets_a_session_cookie_and_counts(sim: SimServer) -> None:
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        response = await http.get("/auth/check_jwt")
        assert response.status_code == 200
        assert "Valid token." in response.text
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("sessionId=")
        assert {"Secure", "HttpOnly", "Path=/"} <= {p.strip() for p in cookie.split(";")}
        stats = await get_stats(http)
    assert stats["check_jwt"] == 1
    assert stats["requests"]["/auth/check_jwt"] == 1


def _bad_tokens(sim: SimServer) -> dict[str, str]:
    stranger = TokenIssuer()
    return {
        "expired": sim.mint_token("installer", -60),
        "wrong aud": sim.mint_token("installer", 3600, aud="999999999999"),
        "garbage": "not.a.jwt",
        "other signer": stranger.mint(sim.serial, "installer", 3600),
    }


async def test_bad_or_missing_tokens_get_401(sim: SimServer) -> None:
    async with client(sim) as http:
        assert (await http.get("/production.json")).status_code == 401
        assert (await http.get("/auth/check_jwt")).status_code == 401
        for name, token in _bad_tokens(sim).items():
            headers = {"Authorization": f"Bearer {token}"}
            for path in ("/production.json", "/auth/check_jwt", "/ivp/ensemble/inventory"):
                response = await http.get(path, headers=headers)
                assert response.status_code == 401, (name, path)
        stats = await get_stats(http)
    assert stats["check_jwt"] == 5


async def test_owner_token_scopes(make_sim: MakeSim) -> None:
    sim = await make_sim(battery=True)
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        for path in OWNER_OK:
            assert (await http.get(path)).status_code == 200, path
        for path in INSTALLER_ONLY:
            assert (await http.get(path)).status_code == 403, path
        # The stream's minimum role is above the owner's: a 401, as firmware D7.6.175 on.
        assert (await http.get("/stream/meter")).status_code == 401


async def test_installer_token_reaches_everything(make_sim: MakeSim) -> None:
    sim = await make_sim(battery=True)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for path in OWNER_OK + INSTALLER_ONLY:
            assert (await http.get(path)).status_code == 200, path


async def test_session_cookie_alone_is_enough(sim: SimServer) -> None:
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        session = (await http.get("/auth/check_jwt")).cookies["sessionId"]
    cookie = {"Cookie": f"sessionId={session}"}
    async with client(sim, headers=cookie) as http:
        assert (await http.get("/production.json")).status_code == 200
        assert (await http.get("/api/v1/production/inverters")).status_code == 403  # owner
    expired = {"Authorization": f"Bearer {sim.mint_token('owner', -10)}", **cookie}
    async with client(sim, headers=expired) as http:
        assert (await http.get("/api/v1/production")).status_code == 200
    async with client(sim, headers={"Cookie": "sessionId=0123456789abcdef"}) as http:
        assert (await http.get("/production.json")).status_code == 401


async def test_cookie_jar_reuse_without_bearer(sim: SimServer) -> None:
    token = sim.mint_token("installer", 3600)
    async with client(sim) as http:
        check = await http.get("/auth/check_jwt", headers={"Authorization": f"Bearer {token}"})
        assert check.status_code == 200
        http.cookies.set("sessionId", check.cookies["sessionId"])
        assert (await http.get("/api/v1/production/inverters")).status_code == 200
        stats = await get_stats(http)
    assert stats["check_jwt"] == 1


async def test_sessions_expire_when_unused(make_sim: MakeSim) -> None:
    sim = await make_sim(session_ttl_s=0.5)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        session = (await http.get("/auth/check_jwt")).cookies["sessionId"]
    async with client(sim, headers={"Cookie": f"sessionId={session}"}) as http:
        for _ in range(3):  # use keeps it alive
            await asyncio.sleep(0.25)
            assert (await http.get("/api/v1/production")).status_code == 200
        await asyncio.sleep(0.7)
        assert (await http.get("/api/v1/production")).status_code == 401


async def test_info_is_public_and_unknown_paths_404(sim: SimServer) -> None:
    async with client(sim) as http:
        for path in ("/info", "/info.xml"):
            response = await http.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/xml"
            assert f"<sn>{sim.serial}</sn>" in response.text
        assert (await http.get("/no/such/endpoint")).status_code == 401
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        response = await http.get("/no/such/endpoint")
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"user": "owner", "lifetime_s": 3600}, 403),
        ({"user": "installer", "lifetime_s": 3600}, 200),
        ({"user": "installer", "lifetime_s": -5}, 401),
        ({"user": "installer", "lifetime_s": 3600, "aud": "000000000001"}, 401),
    ],
)
async def test_sim_token_endpoint(sim: SimServer, body: dict[str, object], status: int) -> None:
    async with client(sim) as http:
        minted = await http.post("/__sim/token", json=body)
        assert minted.status_code == 200
        token = minted.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        response = await http.get("/api/v1/production/inverters", headers=headers)
        assert response.status_code == status


async def test_sim_token_endpoint_rejects_bad_requests(sim: SimServer) -> None:
    async with client(sim) as http:
        assert (await http.post("/__sim/token", json={"user": "root"})).status_code == 400
        assert (await http.post("/__sim/token", content=b"{nope")).status_code == 400


async def test_a_shared_issuer_tells_gateways_apart_by_aud(make_sim: MakeSim) -> None:
    issuer = TokenIssuer()
    first = await make_sim(serial="122300000001", issuer=issuer)
    second = await make_sim(serial="122300000002", issuer=issuer)
    token = first.mint_token("installer", 3600)
    async with client(first, token) as http:
        assert (await http.get("/api/v1/production")).status_code == 200
    async with client(second, token) as http:
        assert (await http.get("/api/v1/production")).status_code == 401


async def test_tokens_last_what_enphase_documents_by_default(sim: SimServer) -> None:
    async with client(sim) as http:
        for user, lifetime_s in (("installer", 12 * 3600), ("owner", 365 * 86400)):
            token = (await http.post("/__sim/token", json={"user": user})).json()["token"]
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["exp"] - claims["iat"] == lifetime_s, user

"""`CaptureTransport` answers exactly as the simulator replaying the same folder over HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from gem_envoy.envoy import paths
from gem_envoy.sim.auth import TokenIssuer
from gem_envoy.sim.capture_transport import CaptureTransport

from .conftest import MakeSim
from .helpers import client

SPLIT = "8.2.127_with_3cts_and_battery_split"
REFUSED_BATTERY = "7.3.130_no_consumption"  # battery endpoints recorded answering 401
ASKED = (
    *(value for name, value in vars(paths).items() if name.isupper()),
    "/info.xml",
    "/production.json?details=1",
    "/ivp/no/such/endpoint",
)


@pytest.mark.parametrize("folder", [SPLIT, REFUSED_BATTERY])
@pytest.mark.parametrize("user", ["installer", "owner", None])
async def test_every_answer_matches_the_simulator_over_https(
    make_sim: MakeSim, captures: Path, folder: str, user: str | None
) -> None:
    issuer = TokenIssuer()  # one issuer: the same token is good for both
    transport = CaptureTransport(captures / folder, issuer=issuer)
    sim = await make_sim(capture=captures / folder, issuer=issuer)
    token = transport.mint(user) if user else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client(sim, token) as http:
        for path in ASKED:
            over_https = await http.get(path)
            in_memory = await transport.get(path, headers)
            assert in_memory.status == over_https.status_code, path
            assert in_memory.body == over_https.content, path
            assert in_memory.content_type == over_https.headers.get("content-type", ""), path
    assert transport.requests == sim.stats.requests


async def test_a_valid_token_buys_a_session_cookie_and_a_bad_one_a_401(captures: Path) -> None:
    transport = CaptureTransport(captures / SPLIT)
    good = await transport.get(paths.CHECK_JWT, {"Authorization": f"Bearer {transport.mint()}"})
    assert good.status == 200
    assert len(good.set_cookie) == 1 and good.set_cookie[0].startswith("sessionId=")
    session = good.set_cookie[0].split(";")[0]
    assert (await transport.get(paths.INVERTERS, {"Cookie": session})).status == 200
    bad = await transport.get(paths.CHECK_JWT, {"Authorization": "Bearer x.y.z"})
    assert (bad.status, bad.set_cookie) == (401, ())
    assert transport.stats.check_jwt == 2
    assert transport.requests == {paths.CHECK_JWT: 2, paths.INVERTERS: 1}

"""The gateway client's authentication and status handling, against real captures served from
memory by the simulator's own rules (tokens, sessions, scopes, sidecar status codes).

What only sockets show (one connection, one request at a time, timeouts, body limits, refused
ports) is in test_client_integration.py, against `gem-envoy simulate` over HTTPS.
"""

from __future__ import annotations

import pytest

from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import AuthRejected, NotFound, NotPermitted
from gem_envoy.envoy.token import InvalidToken
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport

CTS_AND_BATTERY = "8.1.41"
# Its battery endpoints were recorded answering 401 (sidecar code), whatever the token.
REFUSED_BATTERY = "7.3.130_no_consumption"


def client_for(transport: CaptureTransport, token: str | None = None) -> EnvoyClient:
    return EnvoyClient(transport, token if token is not None else transport.mint("installer"))


async def test_one_token_check_serves_every_later_request() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    client = client_for(transport)
    assert (await client.production()).production
    assert await client.inverters()
    assert await client.ensemble_power()
    assert transport.stats.check_jwt == 1
    assert client.session_open


async def test_expired_token_is_auth_rejected() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    client = client_for(transport, transport.mint("installer", lifetime_s=-60))
    with pytest.raises(AuthRejected, match=r"auth rejected \(401\).*mint a fresh"):
        await client.production()
    assert "/production.json" not in transport.requests  # refused at the token check


async def test_token_for_another_gateway_is_auth_rejected() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    client = client_for(transport, transport.mint("installer", aud="999999999999"))
    with pytest.raises(AuthRejected, match=r"minted for another gateway serial"):
        await client.production()


async def test_a_token_that_is_no_jwt_is_refused_before_anything_is_sent() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    with pytest.raises(InvalidToken):
        await client_for(transport, "not-a-token").production()
    assert transport.requests == {}


async def test_owner_token_is_not_permitted_on_installer_endpoints() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    client = client_for(transport, transport.mint("owner"))
    assert (await client.production()).production  # owner scope is enough here
    with pytest.raises(NotPermitted, match=r"auth rejected \(403\).*installer"):
        await client.inverters()


async def test_missing_endpoint_is_not_found() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    with pytest.raises(NotFound, match=r"not found \(404\) on /ivp/no/such/endpoint"):
        await client_for(transport).fetch("/ivp/no/such/endpoint")


async def test_a_new_token_opens_a_new_session() -> None:
    transport = capture_transport(CTS_AND_BATTERY)
    client = client_for(transport, transport.mint("owner"))
    with pytest.raises(NotPermitted):
        await client.inverters()
    client.set_token(transport.mint("installer"))
    assert await client.inverters()
    assert transport.stats.check_jwt == 2


async def test_an_endpoint_answering_401_is_reported_after_one_fresh_session() -> None:
    transport = capture_transport(REFUSED_BATTERY)
    client = client_for(transport)
    with pytest.raises(AuthRejected, match=r"on /ivp/ensemble/power"):
        await client.ensemble_power()
    assert transport.requests["/ivp/ensemble/power"] == 2  # once more after a fresh check
    assert transport.stats.check_jwt == 2

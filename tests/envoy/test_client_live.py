"""The client's live-data reads from captures served from memory: `production(details=True)`,
`livedata_status`, `enable_livedata` (over HTTPS in test_meter_stream.py)."""

from __future__ import annotations

import pytest

from gem_envoy.envoy.client import LIVEDATA_ENABLE_BODY, EnvoyClient
from gem_envoy.envoy.errors import AuthRejected, NotFound
from gem_envoy.sim.capture_transport import CaptureTransport
from tests.captures import capture_transport

THREE_PHASE = "7.6.175_with_cts_3phase"  # lines in its plain production.json; no details file
WITH_DETAILS = "8.3.5169_with_generator"  # recorded with ?details=1 as well


def client_for(transport: CaptureTransport, user: str = "installer") -> EnvoyClient:
    return EnvoyClient(transport, transport.mint(user))


async def test_production_details_asks_for_them() -> None:
    transport = capture_transport(WITH_DETAILS)
    client = client_for(transport)
    plain = await client.production()
    detailed = await client.production(details=True)
    assert transport.requests["/production.json"] == 1
    assert transport.requests["/production.json?details=1"] == 1
    assert all(entry.lines_w == () for entry in plain.production + plain.consumption)
    eim = [e for e in detailed.production if e.type == "eim"]
    assert eim and all(len(entry.lines_w) >= 2 for entry in eim)
    assert all(len(entry.lines_w) >= 2 for entry in detailed.consumption)


async def test_production_details_refused_is_asked_without_them_from_then_on() -> None:
    transport = capture_transport(THREE_PHASE)
    client = client_for(transport)
    first = await client.production(details=True)
    second = await client.production(details=True)
    assert first == second
    assert transport.requests["/production.json?details=1"] == 1
    assert transport.requests["/production.json"] == 2
    production_ct = next(e for e in first.production if e.measurement_type == "production")
    assert production_ct.lines_w == (-2.864, 0.0, -3.617)


async def test_production_details_still_reports_auth_errors() -> None:
    transport = capture_transport(THREE_PHASE)
    client = EnvoyClient(transport, transport.mint("installer", lifetime_s=-60))
    with pytest.raises(AuthRejected):
        await client.production(details=True)


async def test_livedata_on_a_capture_without_it_is_not_found() -> None:
    transport = capture_transport(THREE_PHASE)
    client = client_for(transport)
    with pytest.raises(NotFound, match="/ivp/livedata/status"):
        await client.livedata_status()
    with pytest.raises(NotFound, match="/ivp/livedata/stream"):
        await client.enable_livedata()
    assert transport.stats.by_method["POST"]["/ivp/livedata/stream"] == 1


async def test_enable_livedata_maps_refusals() -> None:
    transport = capture_transport(THREE_PHASE)
    expired = EnvoyClient(transport, transport.mint("installer", lifetime_s=-60))
    with pytest.raises(AuthRejected, match=r"\(401\) on /auth/check_jwt"):
        await expired.enable_livedata()
    assert transport.stats.by_method.get("POST", {}) == {}  # never sent without a session


def test_enable_body_is_the_documented_one() -> None:
    assert LIVEDATA_ENABLE_BODY == b'{"enable":1}'

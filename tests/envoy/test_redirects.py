"""The gateway client never follows a redirect: a 3xx is an error that names its target."""

from __future__ import annotations

import pytest

from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.errors import BadResponse
from gem_envoy.sim import SimOptions, start_simulator
from tests.hostile import RedirectingGateway


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_refused_and_nothing_reaches_its_target(status: int) -> None:
    # The target is a second simulator on this machine: its counters prove nothing arrived.
    elsewhere = await start_simulator(SimOptions(inverters=1))
    redirecting = RedirectingGateway(status=status)
    gateway = await start_simulator(SimOptions(inverters=1), wrap=redirecting.wrap)
    redirecting.target = f"{elsewhere.url}/internal?token=stolen-secret-value"
    client = EnvoyClient.connect_to(
        gateway.host, gateway.mint_token("installer", 3600), port=gateway.port
    )
    try:
        with pytest.raises(BadResponse) as refused:
            await client.production()
        assert f"HTTP {status}, a redirect to '{elsewhere.url}/internal'" in refused.value.message
        assert "stolen-secret-value" not in refused.value.message  # the query is not repeated
        assert not elsewhere.stats.requests
        assert (await client.info()).serial  # the client goes on working afterwards
    finally:
        await client.close()
        await gateway.close()
        await elsewhere.close()


async def test_a_redirected_write_is_not_sent_on() -> None:
    # 307 and 308 ask for the same method and body at the target: a battery settings write,
    # with the token, would arrive elsewhere.
    elsewhere = await start_simulator(SimOptions(inverters=1, battery=True))
    redirecting = RedirectingGateway(status=307, path="/admin/lib/tariff")
    gateway = await start_simulator(SimOptions(inverters=1, battery=True), wrap=redirecting.wrap)
    redirecting.target = f"{elsewhere.url}/admin/lib/tariff"
    client = EnvoyClient.connect_to(
        gateway.host, gateway.mint_token("installer", 3600), port=gateway.port
    )
    try:
        with pytest.raises(BadResponse, match=r"HTTP 307, a redirect to"):
            await client.put_tariff({"storage_settings": {"mode": "backup"}})
        assert not elsewhere.stats.requests
    finally:
        await client.close()
        await gateway.close()
        await elsewhere.close()

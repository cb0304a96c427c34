"""What the gateway no longer tells us is not shown as if it were current."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import jwt
import pytest

from gem_envoy.host.service import Host
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.eventually import eventually

BATTERY = ("battery_now_w", "battery_soc_percent", "battery_state")


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = await start_simulator(SimOptions(inverters=4, battery=True, speed=0))
    try:
        yield server
    finally:
        await server.close()


async def stored(host: Host, device_id: int) -> dict[str, AttributeValue]:
    return {n: a.value for n, a in (await host.store.get_attributes("device", device_id)).items()}


async def until(
    host: Host, device_id: int, check: Callable[[dict[str, AttributeValue]], bool]
) -> None:
    async def passes() -> bool:
        return check(await stored(host, device_id))

    await eventually(passes, timeout_s=30)


async def add_device(host: Host, sim: SimServer, token: str) -> int:
    attributes: dict[str, AttributeValue] = {
        "ip": sim.host,
        "port": sim.port,
        "token": token,
        "polling_interval": 5000,
    }
    return (await host.devices.create("envoy", "enphase_envoy", attributes=attributes)).id


async def test_battery_figures_go_when_the_token_may_no_longer_read_them(
    enphase_host: Host, sim: SimServer
) -> None:
    device = await add_device(enphase_host, sim, sim.mint_token("installer", 3600))
    await until(enphase_host, device, lambda a: all(name in a for name in BATTERY))
    # An owner token may not read the Encharge endpoints: their figures are removed...
    await enphase_host.devices.update(device, attributes={"token": sim.mint_token("owner", 3600)})
    await until(
        enphase_host, device, lambda a: a.get("token_type") == "owner" and a.get("online") is True
    )
    await until(enphase_host, device, lambda a: not any(name in a for name in BATTERY))
    assert "production_now_w" in await stored(enphase_host, device)  # ...the rest stays
    # ...and come back with a token that may read them.
    await enphase_host.devices.update(
        device, attributes={"token": sim.mint_token("installer", 3600)}
    )
    await until(enphase_host, device, lambda a: all(name in a for name in BATTERY))


async def test_token_attributes_describe_the_token_set_even_when_refused(
    enphase_host: Host, sim: SimServer
) -> None:
    device = await add_device(enphase_host, sim, sim.mint_token("installer", 3600))
    await until(enphase_host, device, lambda a: a.get("token_type") == "installer")
    first_expiry = (await stored(enphase_host, device))["token_expires_at"]
    # A well-formed owner token this gateway never issued: it refuses it (401).
    foreign = jwt.encode(
        {"enphaseUser": "owner", "exp": 2_000_000_000, "aud": sim.serial},
        "another-issuers-secret-of-32-bytes",
        algorithm="HS256",
    )
    await enphase_host.devices.update(device, attributes={"token": foreign})
    await until(enphase_host, device, lambda a: a.get("online") is False)
    now = await stored(enphase_host, device)
    assert now["token_type"] == "owner"
    assert now["token_expires_at"] != first_expiry
    assert str(now["token_expires_at"]).startswith("2033-05-18")

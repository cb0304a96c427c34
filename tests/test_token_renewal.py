"""A host keeps its gateway's token alive from stored Enlighten credentials: against
`gem-envoy simulate` serving both the gateway and the cloud, over real sockets.

The driver's own cases (each cloud refusal, flow B, the sign-in pace) are in
tests/drivers/test_token_renewal.py and tests/drivers/test_signin_gate.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.envoy.token import read_claims
from gem_envoy.host.service import Host
from gem_envoy.host.types import AttributeValue
from tests.cloud_sim import EMAIL, PASSWORD, CloudProcess, cloud_simulator
from tests.eventually import eventually

INTERVAL_MS = 5000


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    opened = await Host.open(tmp_path / "host" / "gem.db", DRIVERS)
    try:
        yield opened
    finally:
        await opened.close()


def running_cloud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> Iterator[CloudProcess]:
    with cloud_simulator(tmp_path, ["--inverters", "2", *args]) as cloud:
        for name, value in cloud.env.items():
            monkeypatch.setenv(name, value)
        yield cloud


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudProcess]:
    yield from running_cloud(tmp_path, monkeypatch)


@pytest.fixture
def minute_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudProcess]:
    yield from running_cloud(tmp_path, monkeypatch, "--cloud-token-lifetime", "60")


async def add_with_credentials(host: Host, cloud: CloudProcess) -> int:
    values: dict[str, AttributeValue] = {
        "ip": cloud.sim.host,
        "port": cloud.sim.port,
        "enlighten_email": EMAIL,
        "enlighten_password": PASSWORD,
        "polling_interval": INTERVAL_MS,
    }
    device = await host.devices.create("envoy", "enphase_envoy", attributes=values)
    return device.id


async def value(host: Host, device_id: int, name: str) -> object:
    attribute = (await host.store.get_attributes("device", device_id)).get(name)
    return None if attribute is None else attribute.value


async def online(host: Host, device_id: int) -> bool:
    return await value(host, device_id, "online") is True


async def test_credentials_and_no_token_bring_the_device_online(
    host: Host, cloud: CloudProcess
) -> None:
    device_id = await add_with_credentials(host, cloud)
    await eventually(lambda: online(host, device_id), what="the device online")
    stored = await host.store.get_attributes("device", device_id)
    assert stored["token"].secure and stored["enlighten_email"].secure
    assert stored["token_type"].value == "owner" and "production_now_w" in stored
    assert cloud.cloud()["sign_ins"] == 1


async def test_a_one_minute_token_is_renewed_before_it_expires_with_no_failed_poll(
    host: Host, minute_tokens: CloudProcess
) -> None:
    device_id = await add_with_credentials(host, minute_tokens)
    await eventually(lambda: online(host, device_id), what="the device online")
    came_online = (await host.store.get_attributes("device", device_id))["online"].updated_at
    first = str(await value(host, device_id, "token"))

    async def renewed() -> bool:
        return await value(host, device_id, "token") != first

    await eventually(renewed, timeout_s=45, what="the token renewed")
    expires = read_claims(first).expires_at
    assert expires is not None and expires.timestamp() > time.time()  # renewed in time
    stored = await host.store.get_attributes("device", device_id)
    # `online` is written only when it changes: it has stayed true since the first poll.
    assert stored["online"].value is True and stored["online"].updated_at == came_online
    assert stored["last_error"].value == ""
    assert minute_tokens.cloud()["sign_ins"] == 1  # renewed on the same Enlighten session


async def test_a_revoked_token_is_renewed_once_and_polling_resumes_within_an_interval(
    host: Host, cloud: CloudProcess
) -> None:
    device_id = await add_with_credentials(host, cloud)
    await eventually(lambda: online(host, device_id), what="the device online")
    first = await value(host, device_id, "token")
    revoked_at_ms = time.time() * 1000
    cloud.cloud(revoke=True)

    async def polled_since() -> bool:
        last = await value(host, device_id, "last_poll_ms")
        return isinstance(last, int) and last > revoked_at_ms

    await eventually(polled_since, timeout_s=INTERVAL_MS / 1000 + 3, what="a good poll")
    assert await value(host, device_id, "token") != first
    assert await value(host, device_id, "last_error") == ""
    state = cloud.cloud()
    assert state["tokens_minted"] == 2 and state["sign_ins"] == 1

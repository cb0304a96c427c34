"""The driver mints its token from Enlighten credentials and renews it, against the
simulator's gateway and cloud in this process, over real sockets (HTTPS both ways).

The host around it (storage, encryption, the log) is tested in tests/test_token_renewal.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.envoy.token import read_claims
from gem_envoy.host.contract import DeviceConfig, DeviceError
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim import TokenIssuer
from tests.cloud_sim import EMAIL, PASSWORD, InProcessCloud, cloud_gateway
from tests.fakes import RecordingSink

YEAR_S = 365 * 86_400


def envoy(cloud: InProcessCloud, **attributes: AttributeValue) -> EnphaseEnvoyDriver:
    values: dict[str, AttributeValue] = {
        "ip": cloud.server.host,
        "port": cloud.server.port,
        "enlighten_email": EMAIL,
        "enlighten_password": PASSWORD,
        **attributes,
    }
    return EnphaseEnvoyDriver(DeviceConfig(1, "envoy", values), RecordingSink())


def sink_of(driver: EnphaseEnvoyDriver) -> RecordingSink:
    assert isinstance(driver.sink, RecordingSink)
    return driver.sink


@pytest.fixture
async def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[InProcessCloud]:
    async with cloud_gateway(tmp_path, monkeypatch) as sim:
        yield sim


async def test_credentials_and_no_token_mint_one_at_connect(cloud: InProcessCloud) -> None:
    driver = envoy(cloud)
    await driver.connect()
    await driver.poll()
    await driver.disconnect()
    shown = sink_of(driver).device
    token = shown["token"]
    assert isinstance(token, str) and read_claims(token).audience == cloud.server.serial
    assert shown["token_type"] == "owner" and "production_now_w" in shown
    assert cloud.state["sign_ins"] == 1 and cloud.state["tokens_minted"] == 1


async def test_a_token_near_expiry_is_renewed_on_the_same_session(cloud: InProcessCloud) -> None:
    cloud.behave(token_lifetime_s=4)  # renewed with 2 s left (half its life)
    driver = envoy(cloud)
    await driver.connect()
    first = sink_of(driver).device["token"]
    await driver.poll()
    await asyncio.sleep(2.5)
    await driver.poll()  # not a failed poll: renewed first
    await driver.disconnect()
    assert sink_of(driver).device["token"] != first
    assert cloud.state["sign_ins"] == 1  # the session was reused
    assert cloud.state["tokens_minted"] == 2


async def test_a_revoked_token_is_renewed_once_and_the_poll_goes_on(cloud: InProcessCloud) -> None:
    driver = envoy(cloud)
    await driver.connect()
    await driver.poll()
    cloud.behave(revoke=True)
    await driver.poll()  # 401 after a fresh session: renewed, and the cycle repeated
    await driver.disconnect()
    assert cloud.state["tokens_minted"] == 2 and cloud.state["sign_ins"] == 1


async def test_a_token_just_minted_and_refused_is_not_answered_with_another(
    cloud: InProcessCloud,
) -> None:
    driver = envoy(cloud)
    await driver.connect()
    cloud.behave(revoke=True)  # before any poll proved the minted token
    with pytest.raises(DeviceError, match=r"auth rejected \(401\)"):
        await driver.poll()
    await driver.disconnect()
    assert cloud.state["tokens_minted"] == 1


async def test_entrez_refusing_with_400_is_answered_by_flow_b(cloud: InProcessCloud) -> None:
    cloud.behave(tokens_400=True)
    driver = envoy(cloud)
    await driver.connect()
    await driver.poll()
    await driver.disconnect()
    assert cloud.state["requests"]["/entrez-auth-token"] == 1
    assert "production_now_w" in sink_of(driver).device


async def _connect_error(cloud: InProcessCloud, **attributes: AttributeValue) -> DeviceError:
    driver = envoy(cloud, **attributes)
    try:
        with pytest.raises(DeviceError) as failed:
            await driver.connect()
    finally:
        await driver.disconnect()
    return failed.value


async def test_a_wrong_password_says_so(cloud: InProcessCloud) -> None:
    error = await _connect_error(cloud, enlighten_password="not the password")
    assert "wrong email or password" in error.message and error.permanent
    assert PASSWORD not in error.message and EMAIL not in error.message


async def test_an_mfa_account_says_renewal_cannot_work_and_how_to_mint_by_hand(
    cloud: InProcessCloud,
) -> None:
    cloud.behave(mfa=True)
    error = await _connect_error(cloud)
    assert "multi-factor sign-in" in error.message and error.permanent
    assert "mint a token by hand at https://entrez.enphaseenergy.com" in error.message


async def test_too_many_sessions_says_until_when_it_waits(cloud: InProcessCloud) -> None:
    cloud.behave(too_many_sessions=True)
    error = await _connect_error(cloud)
    assert "too many active sessions" in error.message and not error.permanent
    assert "next attempt after" in error.message and " UTC" in error.message


async def test_a_serial_not_on_the_account_says_so(cloud: InProcessCloud) -> None:
    cloud.behave(wrong_serial=True)
    error = await _connect_error(cloud)
    assert f"gateway {cloud.server.serial} is not on this Enlighten account" in error.message
    assert error.permanent


async def test_an_unreachable_cloud_says_so(cloud: InProcessCloud) -> None:
    cloud.behave(down=True)
    error = await _connect_error(cloud)
    assert "cannot reach Enphase's cloud" in error.message and not error.permanent
    assert cloud.state["connections_dropped"] >= 1


async def test_an_unreachable_cloud_keeps_the_current_token_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-year token issued 340 days ago: 25 days left, so due for renewal.
    aged = TokenIssuer(clock=lambda: time.time() - 340 * 86_400)
    async with cloud_gateway(tmp_path, monkeypatch, issuer=aged, down=True) as cloud:
        driver = envoy(cloud, token=cloud.server.mint_token("owner", YEAR_S))
        await driver.connect()
        await driver.poll()  # the renewal failed; the poll did not
        await driver.disconnect()
    shown = sink_of(driver).device
    assert "production_now_w" in shown
    warning = str(shown["token_warning"])
    assert "(in 24 days)" in warning or "(in 25 days)" in warning
    assert "renewing it failed (cannot reach Enphase's cloud" in warning


async def test_a_cloud_address_without_https_is_refused_in_words(
    cloud: InProcessCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEM_ENVOY_ENLIGHTEN_URL", cloud.url.replace("https://", "http://"))
    error = await _connect_error(cloud)
    assert "GEM_ENVOY_ENLIGHTEN_URL must be an https:// address" in error.message
    assert error.permanent and cloud.state["sign_ins"] == 0

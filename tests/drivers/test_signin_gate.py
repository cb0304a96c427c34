"""The pace of Enlighten sign-ins, per account: against the simulator's cloud over HTTPS, with
a clock the test moves (so that four days pass in a second)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gem_envoy.drivers.enphase_envoy.signin import (
    ACCOUNTS,
    Account,
    RenewalDeferred,
    mint_token,
)
from gem_envoy.envoy.cloud_endpoints import CloudEndpoints
from gem_envoy.envoy.cloud_errors import CloudError, WrongCredentials
from tests.cloud_sim import EMAIL, PASSWORD, InProcessCloud, cloud_gateway

HOUR = 3600.0


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[InProcessCloud]:
    async with cloud_gateway(tmp_path, monkeypatch) as sim:
        yield sim


def account(cloud: InProcessCloud, password: str = PASSWORD) -> Account:
    return ACCOUNTS.get(EMAIL, password, CloudEndpoints.from_env())


async def attempt(cloud: InProcessCloud, acct: Account, clock: Clock) -> str:
    """What one renewal attempt came to: "token", "deferred" or the refusal's class."""
    try:
        await mint_token(acct, cloud.server.serial, clock)
    except RenewalDeferred:
        return "deferred"
    except CloudError as exc:
        return type(exc).__name__
    return "token"


async def test_100_refusals_in_a_row_make_at_most_11_sign_ins(cloud: InProcessCloud) -> None:
    # N = 11: one renewal attempt an hour for 100 hours against a wrong password. Sign-ins
    # happen at hours 0, 1, 2, 3, 5, 8, 14, 25, 47, 71 and 95: the wait doubles from 10
    # minutes after each refusal and is capped at a day.
    clock, wrong = Clock(), account(cloud, "wrong password")
    outcomes = []
    for _ in range(100):
        outcomes.append(await attempt(cloud, wrong, clock))
        clock.now += HOUR
    refused = [hour for hour, outcome in enumerate(outcomes) if outcome != "deferred"]
    assert cloud.state["sign_ins"] == len(refused) == 11
    assert refused == [0, 1, 2, 3, 5, 8, 14, 25, 47, 71, 95]
    assert {outcomes[h] for h in refused} == {WrongCredentials.__name__}


async def test_a_session_serves_later_tokens_without_signing_in_again(
    cloud: InProcessCloud,
) -> None:
    clock, acct = Clock(), account(cloud)
    for _ in range(3):
        assert await attempt(cloud, acct, clock) == "token"
        clock.now += 60
    assert cloud.state["sign_ins"] == 1 and cloud.state["tokens_minted"] == 3


async def test_a_lapsed_session_signs_in_again_but_never_twice_in_ten_minutes(
    cloud: InProcessCloud,
) -> None:
    clock, acct = Clock(), account(cloud)
    assert await attempt(cloud, acct, clock) == "token"
    cloud.behave(forget_sessions=True)
    clock.now += 300
    assert await attempt(cloud, acct, clock) == "deferred"  # 5 minutes after the sign-in
    clock.now += 301
    assert await attempt(cloud, acct, clock) == "token"
    assert cloud.state["sign_ins"] == 2


async def test_new_credentials_are_tried_without_the_refusals_backoff(
    cloud: InProcessCloud,
) -> None:
    clock = Clock()
    for _ in range(5):  # five refusals: the next try would wait 160 minutes
        assert await attempt(cloud, account(cloud, "typo"), clock) == "WrongCredentials"
        clock.now += 2 * HOUR
    clock.now -= HOUR
    assert await attempt(cloud, account(cloud, "typo"), clock) == "deferred"
    fixed = account(cloud)  # a person set the right password
    assert await attempt(cloud, fixed, clock) == "token"


async def test_an_unreachable_cloud_is_tried_again_every_ten_minutes(
    cloud: InProcessCloud,
) -> None:
    clock, acct = Clock(), account(cloud)
    cloud.behave(down=True)
    for _ in range(5):
        assert await attempt(cloud, acct, clock) == "CloudUnreachable"
        clock.now += 601
    cloud.behave(down=False)
    assert await attempt(cloud, acct, clock) == "token"

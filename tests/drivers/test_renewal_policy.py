"""When a token is renewed and when its owner is warned: its claims decide, not its kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gem_envoy.drivers.enphase_envoy import tokens
from gem_envoy.drivers.enphase_envoy.renewal import renewal_due, renewal_margin
from gem_envoy.drivers.enphase_envoy.settings import Credentials
from gem_envoy.drivers.enphase_envoy.tokens import TokenKeeper
from gem_envoy.envoy.token import TokenClaims, read_claims
from gem_envoy.sim import TokenIssuer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def claims(lifetime: timedelta, left: timedelta) -> TokenClaims:
    expires = NOW + left
    return TokenClaims("owner", "122300000001", expires, expires - lifetime)


def test_a_year_token_is_renewed_with_less_than_30_days_left() -> None:
    assert not renewal_due(claims(365 * DAY, 31 * DAY), NOW)
    assert renewal_due(claims(365 * DAY, 29 * DAY), NOW)


def test_a_twelve_hour_token_is_renewed_with_less_than_an_hour_left() -> None:
    assert not renewal_due(claims(timedelta(hours=12), timedelta(minutes=61)), NOW)
    assert renewal_due(claims(timedelta(hours=12), timedelta(minutes=59)), NOW)


def test_no_token_is_renewed_before_half_its_life() -> None:
    one_minute = timedelta(seconds=60)
    assert renewal_margin(claims(one_minute, one_minute)) == timedelta(seconds=30)
    assert not renewal_due(claims(one_minute, timedelta(seconds=31)), NOW)
    assert renewal_due(claims(one_minute, timedelta(seconds=29)), NOW)


def test_a_token_without_expiry_is_never_renewed() -> None:
    assert not renewal_due(TokenClaims("owner", None, None, None), NOW)


def keeper(lifetime_days: int, age_days: int, credentials: Credentials | None) -> TokenKeeper:
    aged = TokenIssuer(clock=lambda: NOW.timestamp() - age_days * 86_400)
    token = aged.mint("122300000001", "owner", lifetime_days * 86_400)
    return TokenKeeper(token, credentials, clock=NOW.timestamp)


def test_a_token_nothing_will_renew_is_warned_about_30_days_ahead() -> None:
    assert keeper(365, 330, None).warning() is None  # 35 days left
    warning = keeper(365, 340, None).warning()
    assert warning is not None
    assert warning.startswith("the token expires on 2026-06-26 12:00 UTC (in 25 days)")
    assert "no Enlighten credentials are set to renew it" in warning
    assert "gem-envoy token mint" in warning


def test_with_credentials_the_warning_waits_for_a_failed_renewal() -> None:
    with_credentials = keeper(365, 340, Credentials("a@example.com", "pw"))
    assert with_credentials.needs_token() and with_credentials.warning() is None
    with_credentials.failure = "cannot reach Enphase's cloud: ..."
    assert "renewing it failed (cannot reach" in str(with_credentials.warning())


def test_a_tokens_claims_are_decoded_once_and_again_for_a_new_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []

    def counted(token: str) -> TokenClaims:
        decoded.append(token)
        return read_claims(token)

    monkeypatch.setattr(tokens, "read_claims", counted)
    kept = keeper(365, 10, None)
    first = kept.claims()
    assert kept.claims() is first and kept.warning() is None and not kept.needs_token()
    assert len(decoded) == 1  # every poll asks: the JWT is decoded once
    kept.token = TokenIssuer(clock=NOW.timestamp).mint("122300000002", "installer", 86_400)
    renewed = kept.claims()
    assert renewed is not None and renewed.user_type == "installer" and len(decoded) == 2
    kept.token = "not a jwt"
    assert kept.claims() is None and kept.claims() is None and len(decoded) == 3

"""When a changed gateway certificate passes as its yearly renewal, and what is said if not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gem_envoy.drivers.enphase_envoy.identity import Identity, IdentityRefused, judge

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD, NEW = "aa" * 32, "bb" * 32
WHERE = "192.0.2.10:443"


def known(expires_in: timedelta) -> Identity:
    return Identity(OLD, NOW + expires_in, "122300000001")


def test_a_new_certificate_near_or_past_the_old_ones_expiry_is_its_renewal() -> None:
    for left in (timedelta(days=29), timedelta(0), timedelta(days=-3)):
        judge(known(left), Identity(NEW, NOW + timedelta(days=365), "122300000001"), WHERE, NOW)


def test_a_new_certificate_long_before_the_old_one_expires_is_refused() -> None:
    with pytest.raises(IdentityRefused) as refused:
        judge(known(timedelta(days=200)), Identity(NEW, None, "122300000001"), WHERE, NOW)
    message = refused.value.message
    assert message.startswith(f"the gateway's certificate changed: {WHERE} now presents BB:BB")
    assert "instead of AA:AA" in message and "no token was sent" in message
    assert "accept_certificate" in message and refused.value.permanent


def test_another_serial_is_refused_even_in_the_renewal_window() -> None:
    with pytest.raises(IdentityRefused, match="serial 122399999999, expected 122300000001"):
        judge(known(timedelta(days=1)), Identity(NEW, None, "122399999999"), WHERE, NOW)


def test_the_first_certificate_is_trusted() -> None:
    judge(Identity(None, None, None), Identity(NEW, None, "122300000001"), WHERE, NOW)

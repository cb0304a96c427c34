"""When a token is renewed, and when its owner is warned: the token's own claims decide.

Enphase's owner tokens live a year and its installer tokens twelve hours; what matters is the
lifetime the claims state, not the kind. A long-lived token (60 days or more) is renewed when
less than 30 days remain, as Home Assistant does; a short one when less than an hour remains.
Neither margin exceeds half the token's lifetime, so that a token is never renewed the moment
it is minted (a test cloud's one-minute token would otherwise be renewed on every poll).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from gem_envoy.envoy.token import TokenClaims

LONG_LIVED = timedelta(days=60)
LONG_MARGIN = timedelta(days=30)
SHORT_MARGIN = timedelta(hours=1)
# How far ahead a person is warned of an expiry that nothing will prevent.
WARN_AHEAD = timedelta(days=30)


def renewal_margin(claims: TokenClaims) -> timedelta | None:
    """How long before its expiry a token is renewed; None for a token that never expires."""
    if claims.expires_at is None:
        return None
    if claims.issued_at is None:  # lifetime unknown: renew late rather than on every poll
        return SHORT_MARGIN
    lifetime = claims.expires_at - claims.issued_at
    margin = LONG_MARGIN if lifetime >= LONG_LIVED else SHORT_MARGIN
    return min(margin, lifetime / 2)


def renewal_due(claims: TokenClaims, now: datetime) -> bool:
    margin = renewal_margin(claims)
    return margin is not None and claims.expires_at is not None and claims.expires_at - now < margin


def expiry_near(claims: TokenClaims, now: datetime) -> bool:
    """Whether the token expires within the warning period (or has expired)."""
    return claims.expires_at is not None and claims.expires_at - now < WARN_AHEAD


def shown(moment: datetime) -> str:
    """A moment as people read it in errors and warnings: to the minute, in UTC."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def expiry_warning(claims: TokenClaims, now: datetime, why: str) -> str:
    """`token_warning`: when the token stops working, why it will not be renewed, what to do."""
    assert claims.expires_at is not None
    when = shown(claims.expires_at)
    if claims.expires_at <= now:
        head = f"the token expired on {when}"
    else:
        # Days started, as the page counts them: 9 days and 23 hours is "in 10 days".
        days = math.ceil((claims.expires_at - now) / timedelta(days=1))
        span = f"in {days} days" if days >= 2 else "within a day"
        head = f"the token expires on {when} ({span})"
    return (
        f"{head} and {why}: set a new token (gem-envoy token mint, or "
        "entrez.enphaseenergy.com), or fix the Enlighten credentials"
    )

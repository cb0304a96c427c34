"""The Entrez JWT, read but not verified.

The driver cannot verify Enphase's signature, and does not need to: the gateway does. It reads
the claims to tell the user when the token expires, whether it is an owner or installer token,
and whether it was minted for this gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gem_envoy.envoy.errors import EnvoyError


class InvalidToken(EnvoyError):
    """The configured token is not a readable JWT (a paste error, usually)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token says about itself. Any claim may be missing on odd tokens."""

    user_type: str | None  # "owner" or "installer" (enphaseUser)
    audience: str | None  # the gateway serial the token was minted for
    expires_at: datetime | None
    issued_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _as_time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return str(value[0])
    return None


def read_claims(token: str) -> TokenClaims:
    """Claims of `token` without verifying its signature. Raises InvalidToken if unreadable."""
    import jwt  # here: it costs a command line start-up a tenth of a second

    try:
        claims = jwt.decode(
            token.strip(), options={"verify_signature": False}, algorithms=["ES256"]
        )
    except jwt.PyJWTError:
        # The message never includes the token itself.
        raise InvalidToken(
            "invalid token: the configured token is not a JWT; paste the whole token from Entrez"
        ) from None
    return TokenClaims(
        user_type=_as_text(claims.get("enphaseUser")),
        audience=_as_text(claims.get("aud")),
        expires_at=_as_time(claims.get("exp")),
        issued_at=_as_time(claims.get("iat")),
    )

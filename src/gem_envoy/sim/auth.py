"""Authentication like firmware D7 and later: ES256 tokens, session cookies, scopes.

- `TokenIssuer` plays Enphase's token service ("Entrez"): it holds an ES256 key pair and mints
  tokens for any gateway serial. One issuer may be shared by many simulated gateways, which then
  tell tokens apart by ``aud`` only, as real ones do.
- `SessionStore` holds the ``sessionId`` cookies handed out by ``/auth/check_jwt``; a session
  expires after ten minutes without use.
- `scope_for` says which user type an endpoint needs; `GatewayAuth` checks a request. An owner
  token on an installer endpoint gets a 403, except on ``/stream/meter``, where firmware from
  D7.6.175 on answers owners 401 (its minimum role is ``prov``: spec section 2).
"""

from __future__ import annotations

import enum
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from .http import Request

ISSUER = "Entrez"
OWNER = "owner"
INSTALLER = "installer"
USER_TYPES = (OWNER, INSTALLER)
SESSION_TTL_S = 600.0
# What Enphase documents (its "token-based authentication" brief): owner tokens last a year,
# installer tokens 12 hours. Tokens minted without a lifetime of their own get these.
LIFETIME_S = {OWNER: 365 * 86_400, INSTALLER: 12 * 3600}
_MAX_SESSIONS = 10_000


def _jwt() -> ModuleType:
    """PyJWT, imported on first use: `gem-envoy --help` imports this module, never mints."""
    import jwt

    return jwt


class TokenIssuer:
    """An ES256 key pair that mints and checks gateway tokens, and can revoke them."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec  # see `_jwt`

        self._key = ec.generate_private_key(ec.SECP256R1())
        self._public = self._key.public_key()
        self._clock = clock
        self._minted: set[str] = set()  # token ids, so that they can be revoked
        self._revoked: set[str] = set()

    def mint(self, aud: str, user: str, lifetime_s: float, username: str | None = None) -> str:
        """A token for gateway ``aud``; a negative lifetime gives an already expired token."""
        if user not in USER_TYPES:
            raise ValueError(f"user must be one of {USER_TYPES}, not {user!r}")
        now = int(self._clock())
        token_id = str(uuid.uuid4())
        claims = {
            "aud": aud,
            "iss": ISSUER,
            "enphaseUser": user,
            "exp": now + int(lifetime_s),
            "iat": now,
            "jti": token_id,
            "username": username or f"{user}@example.com",
        }
        self._minted.add(token_id)
        token: str = _jwt().encode(claims, self._key, algorithm="ES256")
        return token

    def revoke_all(self) -> int:
        """Make every token minted so far invalid (as a gateway does that Enphase told so);
        returns how many were revoked."""
        revoked, self._minted = self._minted, set()
        self._revoked |= revoked
        return len(revoked)

    def verify(self, token: str, aud: str) -> str | None:
        """The user type of a valid token for gateway ``aud``, else None."""
        jwt = _jwt()
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["ES256"],
                audience=aud,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "aud"]},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("jti") in self._revoked:
            return None
        user = claims.get("enphaseUser")
        return user if user in USER_TYPES else None


class SessionStore:
    """``sessionId`` -> user type, each session alive while used at least every ``ttl_s``."""

    def __init__(
        self, ttl_s: float = SESSION_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._sessions: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def create(self, user: str) -> str:
        self._prune()
        session_id = secrets.token_hex(16)
        self._sessions[session_id] = (user, self._clock())
        return session_id

    def lookup(self, session_id: str) -> str | None:
        """The session's user type (and the session's lease renewed), or None when unknown."""
        self._prune()
        entry = self._sessions.get(session_id)
        if entry is None:
            return None
        self._sessions[session_id] = (entry[0], self._clock())
        self._sessions.move_to_end(session_id)
        return entry[0]

    def clear(self) -> None:
        """Forget every session (a rebooted gateway knows none)."""
        self._sessions.clear()

    def __len__(self) -> int:
        return len(self._sessions)

    def _prune(self) -> None:
        """Drop expired sessions; they sit at the front since the order is last use."""
        oldest_alive = self._clock() - self._ttl_s
        while self._sessions:
            session_id, (_, used) = next(iter(self._sessions.items()))
            if used > oldest_alive and len(self._sessions) < _MAX_SESSIONS:
                break
            del self._sessions[session_id]


class Scope(enum.Enum):
    NONE = "none"
    OWNER = "owner"
    INSTALLER = "installer"
    PROV = "prov"
    """Installers only, and anyone else is a 401 rather than a 403."""


_PUBLIC = frozenset({"/info", "/info.xml", "/auth/check_jwt"})
# Not `/admin/lib/tariff`: owners read and write their storage settings with their own token
# (gateway-wire-formats.md section 1.4; no source shows an owner refused). Not
# `/ivp/livedata/` either: owner-token tools read and enable live data (section 3).
_INSTALLER_EXACT = frozenset({"/api/v1/production/inverters"})
_INSTALLER_PREFIXES = ("/ivp/ensemble/",)
_PROV_EXACT = frozenset({"/stream/meter"})


def scope_for(path: str) -> Scope:
    """The user type an endpoint needs (installers may use every owner endpoint)."""
    if path in _PUBLIC:
        return Scope.NONE
    if path in _PROV_EXACT:
        return Scope.PROV
    if path in _INSTALLER_EXACT or path.startswith(_INSTALLER_PREFIXES):
        return Scope.INSTALLER
    return Scope.OWNER


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of an authorisation check: 200 (go on), 401 or 403."""

    status: int
    user: str | None = None


class GatewayAuth:
    """Checks requests against one gateway's serial, issuer and sessions."""

    def __init__(self, serial: str, issuer: TokenIssuer, sessions: SessionStore) -> None:
        self.serial = serial
        self.issuer = issuer
        self.sessions = sessions

    def mint(self, user: str, lifetime_s: float, aud: str | None = None) -> str:
        return self.issuer.mint(aud or self.serial, user, lifetime_s)

    def bearer_user(self, request: Request) -> str | None:
        token = bearer_token(request)
        return None if token is None else self.issuer.verify(token, self.serial)

    def authorize(self, request: Request, scope: Scope) -> Verdict:
        if scope is Scope.NONE:
            return Verdict(200)
        user = self._session_user(request) or self.bearer_user(request)
        if user is None:
            return Verdict(401)
        if scope is Scope.PROV and user != INSTALLER:
            return Verdict(401, user)
        if scope is Scope.INSTALLER and user != INSTALLER:
            return Verdict(403, user)
        return Verdict(200, user)

    def _session_user(self, request: Request) -> str | None:
        session_id = cookie_value(request, "sessionId")
        return None if session_id is None else self.sessions.lookup(session_id)


def bearer_token(request: Request) -> str | None:
    value = request.header("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def cookie_value(request: Request, name: str) -> str | None:
    value = request.header("cookie")
    if value is None:
        return None
    for part in value.split(";"):
        key, sep, content = part.strip().partition("=")
        if sep and key == name:
            return content.strip().strip('"')
    return None

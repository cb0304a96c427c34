"""Bearer tokens handed out by `POST /api/token`, kept in memory only.

A restart logs everybody out, which is acceptable for a home controller and means no token
is ever written to disk. The table is keyed by a SHA-256 digest of each token, so a memory
dump or a debugger shows nothing that could be replayed against the API.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_LIFETIME_S = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    key: str  # digest of the token, never the token itself
    username: str
    role: str
    expires: float  # epoch seconds


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    """Live tokens. `clock` is epoch seconds (time.time), swappable in tests."""

    def __init__(
        self,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lifetime_s <= 0:
            raise ValueError("a session lifetime must be positive")
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._live: dict[str, Session] = {}

    def __repr__(self) -> str:
        return f"Sessions(live={len(self._live)}, lifetime_s={self.lifetime_s})"

    def create(self, username: str, role: str) -> tuple[str, Session]:
        """A new random token for this user, and its session."""
        self._purge()
        token = secrets.token_urlsafe(32)
        session = Session(_digest(token), username, role, self._clock() + self.lifetime_s)
        self._live[session.key] = session
        return token, session

    def get(self, token: str) -> Session | None:
        """The session of a live token; None for an unknown, revoked or expired one."""
        key = _digest(token)
        session = self._live.get(key)
        if session is None:
            return None
        if session.expires <= self._clock():
            del self._live[key]
            return None
        return session

    def is_live(self, session: Session) -> bool:
        current = self._live.get(session.key)
        return current is not None and current.expires > self._clock()

    def revoke(self, session: Session) -> None:
        self._live.pop(session.key, None)

    def revoke_user(self, username: str) -> None:
        """Log one user out everywhere (e.g. after a password change)."""
        for key in [k for k, s in self._live.items() if s.username == username]:
            del self._live[key]

    def _purge(self) -> None:
        # Expired tokens are dropped lazily; sweeping on each login keeps the table bounded
        # by the number of logins within one lifetime.
        now = self._clock()
        for key in [k for k, s in self._live.items() if s.expires <= now]:
            del self._live[key]

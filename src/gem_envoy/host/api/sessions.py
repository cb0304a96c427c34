"""Bearer tokens handed out by `POST /api/token`, kept in the database; and API keys, the
long-lived bearer tokens an admin makes for machines (`host/api_keys.py`).

The database is the only truth: every request looks its token up there (a read on the
reader thread, well under a millisecond), so a restart signs nobody out, and a user changed
or signed out everywhere from the CLI, another process, loses access on the next request.
Rows are keyed by a SHA-256 digest of each token; neither the database nor a memory dump
holds anything that could be replayed against the API.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from gem_envoy.host.store import Store

DEFAULT_LIFETIME_S = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    key: str  # digest of the token, never the token itself
    username: str
    role: str
    expires: float  # epoch seconds; infinite for an API key
    api_key: str | None = None  # the key's name, when the token is an API key


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    """Sessions in `store` (the API context binds its own). `clock` is epoch seconds
    (time.time), swappable in tests."""

    def __init__(
        self,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        clock: Callable[[], float] = time.time,
        store: Store | None = None,
    ) -> None:
        if lifetime_s <= 0:
            raise ValueError("a session lifetime must be positive")
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._store = store
        # Rows queued by `create` and not yet committed; lookups wait for them.
        self._pending: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return f"Sessions(lifetime_s={self.lifetime_s}, pending={len(self._pending)})"

    def bind(self, store: Store) -> None:
        if self._store is not None and self._store is not store:
            raise ValueError("these sessions already live in another store")
        self._store = store

    def create(self, username: str, role: str) -> tuple[str, Session]:
        """A new random token for this user, and its session. The row is queued on the
        store's writer at once; `get` waits for it, `open` also reports its failure."""
        token, session, _ = self._create(username, role)
        return token, session

    async def open(self, username: str, role: str) -> tuple[str, Session]:
        """`create`, once the row is committed: a token is handed out only if it will
        outlive a restart."""
        token, session, written = self._create(username, role)
        await written
        return token, session

    def _create(self, username: str, role: str) -> tuple[str, Session, asyncio.Future[None]]:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(digest(token), username, role, now + self.lifetime_s)
        written = self._store_().add_session(session.key, username, role, session.expires, now=now)
        self._pending.add(written)
        written.add_done_callback(self._settled)
        return token, session, written

    async def get(self, token: str) -> Session | None:
        """The session of a live token or API key; None for an unknown, revoked or expired
        one."""
        key = digest(token)
        return await self._lookup(key) or await self._lookup_api_key(key)

    async def is_live(self, session: Session) -> bool:
        if session.api_key is not None:
            return await self._lookup_api_key(session.key) is not None
        return await self._lookup(session.key) is not None

    async def revoke(self, session: Session) -> None:
        """End this session; for an API key, revoke the key (its holder gives it up)."""
        if session.api_key is not None:
            await self._store_().delete_api_key(session.api_key)
        else:
            await self._store_().delete_session(session.key)

    async def revoke_user(self, username: str) -> int:
        """Sign one user out everywhere; returns how many sessions ended."""
        await self._wait_pending()
        return await self._store_().delete_user_sessions(username)

    async def _lookup(self, key: str) -> Session | None:
        await self._wait_pending()
        stored = await self._store_().get_session(key)
        if stored is None or stored.expires <= self._clock():
            return None  # an expired row is left to the next prune
        return Session(stored.key, stored.username, stored.role, stored.expires)

    async def _lookup_api_key(self, key: str) -> Session | None:
        found = await self._store_().find_api_key(key)
        if found is None:
            return None
        return Session(key, f"key:{found.name}", found.role, math.inf, api_key=found.name)

    async def _wait_pending(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending))

    def _settled(self, written: asyncio.Future[None]) -> None:
        self._pending.discard(written)
        if not written.cancelled():
            written.exception()  # retrieved here: `open` reports it, nobody else waits

    def _store_(self) -> Store:
        if self._store is None:
            raise RuntimeError("these sessions are not bound to a store")
        return self._store

"""The Store's account methods: users, sessions and API keys.

A part of `Store` (which inherits it) kept in a module of its own: it uses the store's
reader and writer and its password hasher, and the SQL of `accounts`, `sessions` and
`api_keys`.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial

from . import accounts, api_keys, sessions
from .dbthread import Job, T
from .hashing import Hasher
from .models import StoredApiKey, StoredSession, StoreError, ValidationError
from .validate import (
    check_digest,
    check_key_role,
    check_name,
    check_password,
    check_role,
    check_time,
)
from .writer import Writer


class AccountMethods:
    _hasher: Hasher
    _writer: Writer
    _closed: bool

    async def _read(self, job: Job[T]) -> T:
        raise NotImplementedError  # the Store's

    async def _write(self, job: Job[T]) -> T:
        raise NotImplementedError  # the Store's

    async def add_user(self, username: str, password: str, role: str) -> None:
        username = check_name("username", username)
        password = check_password(password)
        role = check_role(role)
        password_hash = await self._hash(password)
        await self._write(
            partial(accounts.add_user, username=username, password_hash=password_hash, role=role)
        )

    async def set_password(self, username: str, password: str) -> int:
        """Set a new password; the user's sessions end. Returns how many did."""
        username = check_name("username", username)
        password_hash = await self._hash(check_password(password))
        job = partial(accounts.set_password, username=username, password_hash=password_hash)
        return await self._write(job)

    async def set_role(self, username: str, role: str) -> int:
        """Change the user's role (never the last admin's); a change ends the user's
        sessions. Returns how many ended."""
        job = partial(
            accounts.set_role, username=check_name("username", username), role=check_role(role)
        )
        return await self._write(job)

    async def delete_user(self, username: str) -> int:
        """Delete the user (never the last admin) and end its sessions; returns how many."""
        return await self._write(
            partial(accounts.delete_user, username=check_name("username", username))
        )

    async def check_login(self, username: str, password: str) -> str | None:
        """The user's role if the password is right, else None. Raises `HashingBusy` when
        too many checks are already running or waiting."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise ValidationError("username and password must be strings")
        found = await self._read(partial(accounts.find_login, username=username))
        stored, role = found if found is not None else (accounts.DUMMY_HASH, None)
        if self._closed:
            raise StoreError("the store is closed")
        matches = await self._hasher.verify(password, stored)
        return role if matches else None

    async def list_users(self) -> list[tuple[str, str]]:
        """(username, role) pairs, by username."""
        return await self._read(accounts.list_users)

    async def _hash(self, password: str) -> str:
        if self._closed:
            raise StoreError("the store is closed")
        return await self._hasher.hash(password)

    # Sessions of the API (keyed by the SHA-256 of the token; the token is never stored)

    def add_session(
        self, key: str, username: str, role: str, expires: float, *, now: float
    ) -> asyncio.Future[None]:
        """Queue a new session, pruning expired ones. Queued at once, not when awaited, so
        that a session made and then revoked is written in that order."""
        job = partial(
            sessions.add_session,
            key=key,
            username=username,
            role=check_role(role),
            expires=expires,
            now=now,
        )
        return self._writer.enqueue(job)

    async def get_session(self, key: str) -> StoredSession | None:
        """The stored session, expired or not: the caller's clock decides."""
        return await self._read(partial(sessions.get_session, key=key))

    async def delete_session(self, key: str) -> None:
        await self._write(partial(sessions.delete_session, key=key))

    async def delete_user_sessions(self, username: str) -> int:
        """End every session of the user; returns how many there were."""
        return await self._write(partial(sessions.delete_user_sessions, username=username))

    async def prune_sessions(self, now: float | None = None) -> int:
        """Delete expired sessions; returns how many."""
        now = time.time() if now is None else check_time("now", now)
        return await self._write(partial(sessions.prune_sessions, now=now))

    # API keys (keyed by name, found by the SHA-256 of the key; the key is never stored)

    async def add_api_key(self, name: str, key_hash: str, role: str) -> StoredApiKey:
        """Store a new key's digest; ConflictError when the name is taken."""
        job = partial(
            api_keys.add_api_key,
            name=check_name("API key name", name),
            key_hash=check_digest(key_hash),
            role=check_key_role(role),
            now=time.time(),
        )
        return await self._write(job)

    async def find_api_key(self, key_hash: str) -> StoredApiKey | None:
        return await self._read(partial(api_keys.find_api_key, key_hash=key_hash))

    async def list_api_keys(self) -> list[StoredApiKey]:
        return await self._read(api_keys.list_api_keys)

    async def delete_api_key(self, name: str) -> None:
        """Revoke a key: NotFoundError when there is none of that name."""
        name = check_name("API key name", name)
        await self._write(partial(api_keys.delete_api_key, name=name))

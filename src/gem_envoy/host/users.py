"""Users of the host: roles and password hashing.

Passwords are stored as scrypt hashes, `scrypt$n$r$p$salt_b64$hash_b64`, so the cost
parameters travel with each hash and can be raised later without breaking old ones.
Hashing takes a tenth of a second on purpose; the store runs it on threads of its own
(`store/hashing.py`), never on the event loop nor on a database thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store hashes with this module; only the bootstrap needs the store
    from gem_envoy.host.store import Store

ADMIN = "admin"
USER = "user"
ROLES = (ADMIN, USER)

_SCHEME = "scrypt"
_N = 2**14
_R = 8
_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
# A stored hash chooses its own cost; cap it so a tampered row cannot exhaust memory/CPU.
_MAX_MEMORY = 64 * 1024 * 1024
_MAX_P = 16


ADMIN_NAME = "admin"
ADMIN_PASSWORD_ENV = "GEM_ENVOY_ADMIN_PASSWORD"


async def ensure_admin(
    store: Store, *, reset: bool = False, password: str | None = None
) -> str | None:
    """The first start's user `admin` (role admin), with `password`, else the one from
    $GEM_ENVOY_ADMIN_PASSWORD, else a new random one; returns that password when it set one.

    Without `reset`, a store that has users is left alone. With it (the demo), `admin` gets
    the password whether or not it exists."""
    users = dict(await store.list_users())
    if users and not reset:
        return None
    from gem_envoy.host.store import ValidationError  # here: the store imports this module

    chosen = os.environ.get(ADMIN_PASSWORD_ENV)
    password = password or chosen or secrets.token_urlsafe(12)  # 16 characters
    try:
        if ADMIN_NAME in users:
            await store.set_password(ADMIN_NAME, password)
        else:
            await store.add_user(ADMIN_NAME, password, ADMIN)
    except ValidationError as exc:
        if chosen:  # say where the refused password came from
            raise ValidationError(f"${ADMIN_PASSWORD_ENV}: {exc}") from None
        raise
    return password


def hash_password(password: str) -> str:
    """A new salted scrypt hash of `password`."""
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the hash `stored`; False for a malformed hash."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    actual = _scrypt(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int = _HASH_BYTES) -> bytes:
    # OpenSSL's default ceiling (32 MiB) is below the largest cost we accept.
    maxmem = _memory(n, r, p) + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=size
    )


def _memory(n: int, r: int, p: int) -> int:
    """Roughly what scrypt allocates for these costs."""
    return 128 * r * (n + p)


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        return None
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    power_of_two = n > 1 and n & (n - 1) == 0
    if not (power_of_two and r > 0 and 0 < p <= _MAX_P and _memory(n, r, p) <= _MAX_MEMORY):
        return None
    if not salt or not 16 <= len(digest) <= 64:
        return None
    return n, r, p, salt, digest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

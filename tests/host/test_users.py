"""Password hashing and the users kept by the store."""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest

from gem_envoy.host import users
from gem_envoy.host.store import ConflictError, NotFoundError, Store, ValidationError, accounts
from gem_envoy.host.users import ADMIN, USER, hash_password, verify_password


def test_hash_format() -> None:
    scheme, n, r, p, salt, digest = hash_password("correct horse").split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same") != hash_password("same")


def test_a_stronger_stored_cost_still_verifies() -> None:
    # Hashes carry their cost, so raising it later keeps old and new hashes working.
    salt = base64.b64encode(b"0123456789abcdef").decode()
    digest = hashlib.scrypt(b"pw", salt=b"0123456789abcdef", n=2**15, r=8, p=1, maxmem=2**26)
    stored = f"scrypt${2**15}$8$1${salt}${base64.b64encode(digest).decode()}"
    assert verify_password("pw", stored)
    assert not verify_password("pW", stored)


def test_verify_right_and_wrong_password() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$!!$AAAA",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
        "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,  # n not a power of two
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,  # absurd memory
        "scrypt$16384$8$1000$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,  # absurd time
        "scrypt$16384$0$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
    ],
)
def test_malformed_or_hostile_hash_never_matches(stored: str) -> None:
    assert not verify_password("anything", stored)


async def test_check_login_returns_the_role(store: Store) -> None:
    await store.add_user("alice", "alice-pw", ADMIN)
    await store.add_user("bob", "bob-pw", USER)
    assert await store.check_login("alice", "alice-pw") == ADMIN
    assert await store.check_login("bob", "bob-pw") == USER
    assert await store.check_login("bob", "alice-pw") is None
    assert await store.check_login("carol", "whatever") is None
    assert await store.list_users() == [("alice", ADMIN), ("bob", USER)]


async def test_duplicate_user_is_a_conflict(store: Store) -> None:
    await store.add_user("alice", "one", USER)
    with pytest.raises(ConflictError, match="alice"):
        await store.add_user("alice", "two", ADMIN)
    assert await store.check_login("alice", "one") == USER


async def test_set_password(store: Store) -> None:
    await store.add_user("alice", "old", USER)
    await store.set_password("alice", "new")
    assert await store.check_login("alice", "old") is None
    assert await store.check_login("alice", "new") == USER
    with pytest.raises(NotFoundError):
        await store.set_password("nobody", "new")


@pytest.mark.parametrize(
    ("username", "password", "role"),
    [("", "pw", USER), ("alice", "", USER), ("alice", "pw", "root"), (" alice", "pw", USER)],
)
async def test_invalid_users_are_refused(
    store: Store, username: str, password: str, role: str
) -> None:
    with pytest.raises(ValidationError):
        await store.add_user(username, password, role)
    assert await store.list_users() == []


async def test_hashing_runs_on_the_database_threads(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []

    def spy_hash(password: str) -> str:
        threads.append(threading.current_thread().name)
        return users.hash_password(password)

    def spy_verify(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return users.verify_password(password, stored)

    monkeypatch.setattr(accounts, "hash_password", spy_hash)
    monkeypatch.setattr(accounts, "verify_password", spy_verify)
    await store.add_user("alice", "pw", USER)
    await store.check_login("alice", "pw")
    assert threads[0].startswith("gem-store-writer")
    assert threads[1].startswith("gem-store-reader")

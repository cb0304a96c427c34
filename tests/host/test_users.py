"""Password hashing and the users kept by the store."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading

import pytest

from gem_envoy.host import users
from gem_envoy.host.store import (
    ConflictError,
    HashingBusy,
    NotFoundError,
    Store,
    ValidationError,
    hashing,
)
from gem_envoy.host.store.accounts import DUMMY_HASH as DUMMY
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


ALICE_PW = "alice-password-1"
BOB_PW = "bob-password-12"


async def test_check_login_returns_the_role(store: Store) -> None:
    await store.add_user("alice", ALICE_PW, ADMIN)
    await store.add_user("bob", BOB_PW, USER)
    assert await store.check_login("alice", ALICE_PW) == ADMIN
    assert await store.check_login("bob", BOB_PW) == USER
    assert await store.check_login("bob", ALICE_PW) is None
    assert await store.check_login("carol", "whatever") is None
    assert await store.list_users() == [("alice", ADMIN), ("bob", USER)]


async def test_duplicate_user_is_a_conflict(store: Store) -> None:
    await store.add_user("alice", "first-password", USER)
    with pytest.raises(ConflictError, match="alice"):
        await store.add_user("alice", "second-password", ADMIN)
    assert await store.check_login("alice", "first-password") == USER


async def test_set_password(store: Store) -> None:
    await store.add_user("alice", "old-password-1", USER)
    await store.set_password("alice", "new-password-1")
    assert await store.check_login("alice", "old-password-1") is None
    assert await store.check_login("alice", "new-password-1") == USER
    with pytest.raises(NotFoundError):
        await store.set_password("nobody", "new-password-1")


@pytest.mark.parametrize(
    ("username", "password", "role"),
    [
        ("", ALICE_PW, USER),
        ("alice", "", USER),
        ("alice", ALICE_PW, "root"),
        (" alice", ALICE_PW, USER),
        ("alice", "eleven-char", USER),
    ],
)
async def test_invalid_users_are_refused(
    store: Store, username: str, password: str, role: str
) -> None:
    with pytest.raises(ValidationError):
        await store.add_user(username, password, role)
    assert await store.list_users() == []


async def test_a_password_needs_twelve_characters_and_says_so(store: Store) -> None:
    await store.add_user("alice", ALICE_PW, USER)
    for short in ("", "short", "x" * 11):
        with pytest.raises(ValidationError, match="at least 12 characters") as refused:
            await store.set_password("alice", short)
        assert short not in str(refused.value) or not short  # never echoed
    assert await store.check_login("alice", ALICE_PW) == USER
    await store.set_password("alice", "x" * 12)  # twelve is enough


async def test_the_last_admin_can_be_neither_deleted_nor_demoted(store: Store) -> None:
    await store.add_user("root", "root-password-1", ADMIN)
    await store.add_user("alice", ALICE_PW, USER)
    with pytest.raises(ConflictError, match="last admin"):
        await store.delete_user("root")
    with pytest.raises(ConflictError, match="last admin"):
        await store.set_role("root", USER)
    await store.set_role("alice", ADMIN)  # with a second admin, either may go
    await store.set_role("root", USER)
    with pytest.raises(ConflictError, match="last admin"):
        await store.delete_user("alice")
    await store.delete_user("root")
    assert await store.list_users() == [("alice", ADMIN)]
    with pytest.raises(NotFoundError):
        await store.delete_user("root")
    with pytest.raises(NotFoundError):
        await store.set_role("nobody", USER)


async def test_every_change_to_a_user_ends_its_sessions(store: Store) -> None:
    await store.add_user("root", "root-password-1", ADMIN)
    await store.add_user("alice", ALICE_PW, USER)

    async def sign_in(username: str, key: str) -> None:
        await store.add_session(key, username, USER, 1e12, now=0)

    for change in (
        store.set_password("alice", "new-password-1"),
        store.set_role("alice", ADMIN),
        store.set_role("alice", USER),
        store.delete_user("alice"),
    ):
        await sign_in("alice", "alice-1")
        await sign_in("alice", "alice-2")
        await sign_in("root", f"root-{id(change)}")
        assert await change == 2
        assert await store.get_session("alice-1") is None
        assert await store.get_session("alice-2") is None
        assert await store.get_session(f"root-{id(change)}") is not None
    await sign_in("root", "root-same")
    assert await store.set_role("root", ADMIN) == 0  # no change, nobody signed out
    assert await store.get_session("root-same") is not None


async def test_sessions_are_pruned_when_they_expire(store: Store) -> None:
    await store.add_session("old", "alice", USER, 100.0, now=0)
    await store.add_session("new", "alice", USER, 300.0, now=0)
    assert await store.prune_sessions(now=200.0) == 1
    assert await store.get_session("old") is None
    await store.add_session("newer", "alice", USER, 500.0, now=400.0)  # sweeps as it adds
    assert await store.get_session("new") is None
    assert await store.get_session("newer") is not None


async def test_hashing_runs_on_its_own_threads_never_the_database_threads(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []

    def spy_hash(password: str) -> str:
        threads.append(threading.current_thread().name)
        return users.hash_password(password)

    def spy_verify(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return users.verify_password(password, stored)

    monkeypatch.setattr(hashing, "hash_password", spy_hash)
    monkeypatch.setattr(hashing, "verify_password", spy_verify)
    await store.add_user("alice", ALICE_PW, USER)
    await store.check_login("alice", ALICE_PW)
    await store.check_login("nobody", ALICE_PW)
    await store.set_password("alice", "new-password-1")
    assert len(threads) == 4
    assert all(name.startswith("gem-hash") for name in threads), threads


async def test_a_flood_of_hashes_is_refused_not_queued_without_end() -> None:
    hasher = hashing.Hasher(workers=1, max_pending=3)
    try:
        # Three checks (a tenth of a second each, one at a time) fill the slots; the fourth
        # is refused at once.
        slow = [asyncio.ensure_future(hasher.verify(ALICE_PW, DUMMY)) for _ in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(HashingBusy, match="too many sign-ins"):
            await hasher.verify(ALICE_PW, DUMMY)
        assert await asyncio.gather(*slow) == [False, False, False]
        # Their slots are free again.
        assert await hasher.verify(ALICE_PW, DUMMY) is False
    finally:
        hasher.close()


async def test_a_cancelled_check_gives_its_slot_back_when_its_work_is_gone() -> None:
    hasher = hashing.Hasher(workers=1, max_pending=2)
    try:
        first = asyncio.ensure_future(hasher.verify(ALICE_PW, DUMMY))
        second = asyncio.ensure_future(hasher.verify(ALICE_PW, DUMMY))
        await asyncio.sleep(0.01)
        second.cancel()  # still queued behind the first: withdrawn, its slot freed
        await asyncio.gather(first, second, return_exceptions=True)
        results = await asyncio.gather(
            hasher.verify(ALICE_PW, DUMMY), hasher.verify(ALICE_PW, DUMMY)
        )
        assert list(results) == [False, False]
    finally:
        hasher.close()

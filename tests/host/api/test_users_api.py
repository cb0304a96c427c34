"""Managing users through the API (admin only): add, delete, change a role or a password, sign
a user out everywhere. Each change ends the user's sessions at once; the last admin stays."""

from __future__ import annotations

import httpx

from .conftest import PASSWORDS, Host


async def works(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/api/session")
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


async def test_only_admins_manage_users(host: Host) -> None:
    attempts = [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"username": "eve", "password": "eve-password-1"}),
        ("DELETE", "/api/users/root", None),
        ("PUT", "/api/users/alice/role", {"role": "admin"}),
        ("PUT", "/api/users/root/password", {"password": "eve-chose-this"}),
        ("DELETE", "/api/users/root/sessions", None),
    ]
    for method, url, body in attempts:
        answer = await host.user.request(method, url, json=body)
        assert answer.status_code == 403, (method, url)
        assert answer.json() == {"error": "this needs the admin role"}
    assert await host.store.list_users() == [("alice", "user"), ("root", "admin")]
    assert await works(host.admin)


async def test_add_a_user_with_a_long_enough_password(host: Host) -> None:
    short = await host.admin.post(
        "/api/users", json={"username": "bob", "password": "short-pass", "role": "user"}
    )
    assert short.status_code == 422
    assert short.json() == {"error": "password must be at least 12 characters long"}
    added = await host.admin.post(
        "/api/users", json={"username": "bob", "password": "bob-password-1", "role": "user"}
    )
    assert added.status_code == 201
    assert added.json() == {"username": "bob", "role": "user"}
    again = await host.admin.post(
        "/api/users", json={"username": "bob", "password": "bob-password-2"}
    )
    assert again.status_code == 409
    bad_role = await host.admin.post(
        "/api/users", json={"username": "carol", "password": "carol-password", "role": "root"}
    )
    assert bad_role.status_code == 422
    assert "role must be one of" in bad_role.json()["error"]
    assert await host.store.check_login("bob", "bob-password-1") == "user"


async def test_a_new_password_ends_the_users_sessions(host: Host) -> None:
    second = await host.login("alice")
    answer = await host.admin.put(
        "/api/users/alice/password", json={"password": "alice-password-2"}
    )
    assert answer.status_code == 204
    assert not await works(host.user)
    async with host.client(second) as other:
        assert not await works(other)
    assert await works(host.admin)  # nobody else is signed out
    old = await host.anon.post(
        "/api/token", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert old.status_code == 401
    new = await host.anon.post(
        "/api/token", json={"username": "alice", "password": "alice-password-2"}
    )
    assert new.status_code == 200
    short = await host.admin.put("/api/users/alice/password", json={"password": "too-short"})
    assert short.status_code == 422
    assert "at least 12 characters" in short.json()["error"]
    missing = await host.admin.put(
        "/api/users/nobody/password", json={"password": "nobody-password"}
    )
    assert missing.status_code == 404


async def test_a_role_change_ends_the_users_sessions(host: Host) -> None:
    answer = await host.admin.put("/api/users/alice/role", json={"role": "admin"})
    assert answer.status_code == 200
    assert answer.json() == {"username": "alice", "role": "admin"}
    assert not await works(host.user)  # a token of the old role must not live on
    async with host.client(await host.login("alice")) as alice:
        me = (await alice.get("/api/session")).json()
        assert me["role"] == "admin"
        assert (await alice.get("/api/users")).status_code == 200


async def test_the_last_admin_can_be_neither_deleted_nor_demoted(host: Host) -> None:
    for method, url, body in (
        ("DELETE", "/api/users/root", None),
        ("PUT", "/api/users/root/role", {"role": "user"}),
    ):
        answer = await host.admin.request(method, url, json=body)
        assert answer.status_code == 409
        assert "'root' is the last admin" in answer.json()["error"]
    assert await works(host.admin)
    # Once alice is an admin too, root may step down.
    assert (await host.admin.put("/api/users/alice/role", json={"role": "admin"})).is_success
    assert (await host.admin.put("/api/users/root/role", json={"role": "user"})).is_success
    assert not await works(host.admin)
    assert await host.store.list_users() == [("alice", "admin"), ("root", "user")]


async def test_deleting_a_user_ends_its_sessions(host: Host) -> None:
    answer = await host.admin.delete("/api/users/alice")
    assert answer.status_code == 204
    assert not await works(host.user)
    assert await host.store.list_users() == [("root", "admin")]
    missing = await host.admin.delete("/api/users/alice")
    assert missing.status_code == 404
    assert missing.json() == {"error": "there is no user named 'alice'"}


async def test_an_admin_signs_another_user_out_everywhere(host: Host) -> None:
    second = await host.login("alice")
    answer = await host.admin.delete("/api/users/alice/sessions")
    assert answer.status_code == 200
    assert answer.json() == {"revoked": 2}
    assert not await works(host.user)
    async with host.client(second) as other:
        assert not await works(other)
    assert await works(host.admin)
    assert (await host.admin.delete("/api/users/nobody/sessions")).status_code == 404


async def test_anyone_signs_themselves_out_everywhere(host: Host) -> None:
    second = await host.login("alice")
    answer = await host.user.post("/api/token/revoke-all")
    assert answer.status_code == 200
    assert answer.json() == {"revoked": 2}
    assert not await works(host.user)
    async with host.client(second) as other:
        assert not await works(other)
    assert await works(host.admin)
    assert (await host.anon.post("/api/token/revoke-all")).status_code == 401

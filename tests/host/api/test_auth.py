"""Tokens: which routes need one, logging in and out, expiry (password-guessing limits are in
test_signin_limits)."""

from __future__ import annotations

import re
import time

from .conftest import PASSWORDS, Host

PUBLIC = {("get", "/api/health"), ("get", "/api/version"), ("post", "/api/token")}


def concrete(path: str) -> str:
    """A callable URL for an OpenAPI path template."""
    path = path.replace("{target_type}", "device")
    path = re.sub(r"\{(name)\}", "x", path)
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_but_health_version_and_token_needs_a_token(host: Host) -> None:
    document = (await host.admin.get("/api/openapi.json")).json()
    routes = [
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete", "patch")
    ]
    assert len(routes) >= 20
    open_routes = set()
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
            answer = await host.anon.request(method, concrete(path), headers=headers, json={})
            if answer.status_code != 401:
                open_routes.add((method, path))
                continue
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert "error" in answer.json()
    assert open_routes == PUBLIC


async def test_the_openapi_document_needs_a_token_and_declares_bearer(host: Host) -> None:
    assert (await host.anon.get("/api/openapi.json")).status_code == 401
    document = (await host.user.get("/api/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"].lower() == "bearer"
    assert document["paths"]["/api/data/devices"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/health"]["get"]
    for docs_page in ("/docs", "/redoc", "/api/docs"):
        assert (await host.admin.get(docs_page)).status_code == 404


async def test_health_and_version_need_no_token(host: Host) -> None:
    assert (await host.anon.get("/api/version")).json() == {"version": "9.9.9-test"}
    assert (await host.anon.get("/api/health")).json() == {
        "status": "ok",
        "devices": 0,
        "online": 0,
    }


async def test_login_gives_a_working_token(host: Host) -> None:
    before = time.time()
    answer = await host.anon.post(
        "/api/token", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "expires"}
    assert len(body["token"]) >= 40
    assert before + 12 * 3600 - 5 < body["expires"] < time.time() + 12 * 3600 + 5
    async with host.client(body["token"]) as client:
        me = (await client.get("/api/session")).json()
    assert me["username"] == "alice"
    assert me["role"] == "user"


async def test_wrong_password_or_unknown_user_is_401(host: Host) -> None:
    for username, password in (("alice", "wrong"), ("nobody", "whatever")):
        answer = await host.anon.post(
            "/api/token", json={"username": username, "password": password}
        )
        assert answer.status_code == 401
        assert answer.json() == {"error": "invalid username or password"}


async def test_malformed_login_is_422_not_a_crash(host: Host) -> None:
    bodies: list[object] = [{}, {"username": "alice"}, {"username": 1, "password": 2}, []]
    for body in bodies:
        answer = await host.anon.post("/api/token", json=body)
        assert answer.status_code == 422
        assert answer.json()["error"].startswith("invalid request")


async def test_expired_token_is_401(host: Host) -> None:
    assert (await host.user.get("/api/data/devices")).status_code == 200
    host.clock.offset += 12 * 3600 + 1
    answer = await host.user.get("/api/data/devices")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    # A fresh login works again.
    async with host.client(await host.login("alice")) as client:
        assert (await client.get("/api/data/devices")).status_code == 200


async def test_logout_revokes_only_that_token(host: Host) -> None:
    other = await host.login("alice")
    assert (await host.user.post("/api/logout")).status_code == 204
    assert (await host.user.get("/api/data/devices")).status_code == 401
    async with host.client(other) as client:
        assert (await client.get("/api/data/devices")).status_code == 200


async def test_users_are_listed_for_admins_only(host: Host) -> None:
    assert (await host.admin.get("/api/users")).json() == [
        {"username": "alice", "role": "user"},
        {"username": "root", "role": "admin"},
    ]
    assert (await host.user.get("/api/users")).status_code == 403

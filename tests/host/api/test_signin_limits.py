"""Password guessing is slowed per (username, client address), and never locks the owner out:
the API served over TCP, clients bound to 127.0.0.1 and 127.0.0.2 (both loopback on Linux)."""

from __future__ import annotations

import asyncio

import httpx

from gem_envoy.host.api import LoginLimiter

from .conftest import PASSWORDS, Host

OTHER_ADDRESS = "127.0.0.2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_from(host: Host, address: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=host.url, transport=transport, timeout=10)


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/token", json={"username": username, "password": password})


async def test_ten_wrong_passwords_for_the_admin_lock_out_only_that_address(host: Host) -> None:
    clock = Clock()
    host.context.limiter = LoginLimiter(clock=clock)  # the real waits, on a clock we move
    attacker = host.anon  # 127.0.0.1
    waits: list[int] = []
    while len(waits) < 10:  # ten wrong passwords heard, the attacker waiting as told
        answer = await sign_in(attacker, "root", "not-the-password")
        if answer.status_code == 429:
            waits[-1] = int(answer.headers["retry-after"])
            clock.now += waits[-1]
            continue
        assert answer.status_code == 401, answer.text
        waits.append(0)
    assert waits == [0, 1, 2, 4, 8, 16, 32, 64, 128, 0]

    # The owner, from another address, at once.
    async with client_from(host, OTHER_ADDRESS) as owner:
        answer = await sign_in(owner, "root", PASSWORDS["root"])
        assert answer.status_code == 200, answer.text
        async with host.client(answer.json()["token"]) as signed_in:
            me = (await signed_in.get("/api/session")).json()
        assert me["username"] == "root"

    # From the guessing address: told how long, in the header and the body, then let in.
    refused = await sign_in(attacker, "root", PASSWORDS["root"])
    assert refused.status_code == 429
    body = refused.json()
    assert body["retry_after"] == int(refused.headers["retry-after"]) == 256
    assert "try again in 256 s" in body["error"]
    clock.now += body["retry_after"]
    assert (await sign_in(attacker, "root", PASSWORDS["root"])).status_code == 200
    # A success starts the count afresh.
    assert (await sign_in(attacker, "root", "not-the-password")).status_code == 401
    assert (await sign_in(attacker, "root", PASSWORDS["root"])).status_code == 200


async def test_the_right_password_gets_in_within_the_announced_wait(host: Host) -> None:
    host.context.limiter = LoginLimiter()  # the real waits, in real time
    for _ in range(2):  # a typo costs nothing; the second failure costs a second
        assert (await sign_in(host.anon, "alice", "typo")).status_code == 401
    refused = await sign_in(host.anon, "alice", PASSWORDS["alice"])
    assert refused.status_code == 429
    wait = refused.json()["retry_after"]
    assert wait == int(refused.headers["retry-after"]) == 1
    await asyncio.sleep(wait)
    assert (await sign_in(host.anon, "alice", PASSWORDS["alice"])).status_code == 200


async def test_other_names_from_the_guessing_address_are_not_slowed(host: Host) -> None:
    host.context.limiter = LoginLimiter(clock=Clock())  # a wait that never passes
    for index in range(5):
        assert (await sign_in(host.anon, f"guess{index}", "x")).status_code == 401
        assert (await sign_in(host.anon, f"guess{index}", "x")).status_code == 401
        assert (await sign_in(host.anon, f"guess{index}", "x")).status_code == 429
    assert (await sign_in(host.anon, "root", PASSWORDS["root"])).status_code == 200
    assert (await sign_in(host.anon, "ROOT", "x")).status_code == 401  # names match casefolded
    assert (await sign_in(host.anon, "root", "x")).status_code == 401
    assert (await sign_in(host.anon, "root", PASSWORDS["root"])).status_code == 429


async def test_parallel_guesses_take_turns_and_cannot_all_be_heard(host: Host) -> None:
    host.context.limiter = LoginLimiter()
    answers = await asyncio.gather(*(sign_in(host.anon, "alice", "x") for _ in range(10)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [401, 401] + [429] * 8  # the free typo, one more, then the wait

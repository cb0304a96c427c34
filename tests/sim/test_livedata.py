"""``/ivp/livedata/status`` and its switch ``POST /ivp/livedata/stream``: who, when, what."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .conftest import MakeSim
from .helpers import client, get_stats

STATUS = "/ivp/livedata/status"
SWITCH = "/ivp/livedata/stream"
FAST = 100.0
"""Simulated seconds per real second: ``last_update`` moves every 10 ms."""


async def status(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get(STATUS)
    assert response.status_code == 200
    value: dict[str, Any] = response.json()
    return value


async def switch(http: httpx.AsyncClient, body: object) -> httpx.Response:
    return await http.post(SWITCH, json=body)


async def two_reads(http: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """``meters`` twice, 50 ms (5 simulated seconds) apart."""
    first = await status(http)
    await asyncio.sleep(0.05)
    return first["meters"], (await status(http))["meters"]


async def test_off_at_start_on_when_posted_off_again_after_the_timeout(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=FAST, livedata_timeout_s=1.0)
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        before = await status(http)
        assert before["connection"]["sc_stream"] == "disabled"
        first, second = await two_reads(http)
        assert first == second  # frozen: the values of start-up

        reply = await switch(http, {"enable": 1})
        assert reply.json() == {"sc_stream": "enabled"}
        live = await status(http)
        assert live["connection"]["sc_stream"] == "enabled"
        assert live["meters"]["last_update"] > first["last_update"]
        first, second = await two_reads(http)
        assert second["last_update"] > first["last_update"]

        await asyncio.sleep(1.05)
        expired = await status(http)
        assert expired["connection"]["sc_stream"] == "disabled"
        first, second = await two_reads(http)
        assert first == second == expired["meters"]


async def test_enable_0_turns_it_off_and_freezes_the_values(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=FAST)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        await switch(http, {"enable": 1})
        reply = await switch(http, {"enable": 0})
        assert reply.status_code == 200 and reply.json() == {"sc_stream": "disabled"}
        off = await status(http)
        assert off["connection"]["sc_stream"] == "disabled"
        await asyncio.sleep(0.05)
        assert (await status(http))["meters"] == off["meters"]


async def test_refreshing_firmware_moves_on_while_off(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=FAST, livedata_when_disabled="refreshing")
    async with client(sim, sim.mint_token("owner", 3600)) as http:
        first, second = await two_reads(http)
        assert (await status(http))["connection"]["sc_stream"] == "disabled"
    assert second["last_update"] > first["last_update"]


async def test_a_body_other_than_enable_0_or_1_is_refused(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=FAST)
    bad: list[object] = [{"enable": 2}, {"enable": True}, {"enable": "1"}, [1], {}]
    bad.append({"enable": 1, "extra": 0})
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for body in bad:
            assert (await switch(http, body)).status_code == 400, body
        not_json = await http.post(SWITCH, content=b"enable=1")
        assert not_json.status_code == 400
        assert (await status(http))["connection"]["sc_stream"] == "disabled"
        assert (await http.get(SWITCH)).status_code == 405
        stats = await get_stats(http)
    assert stats["paths"][SWITCH]["requests"] == len(bad) + 2
    assert stats["by_method"]["POST"][SWITCH] == len(bad) + 1


async def test_owners_and_installers_alike(make_sim: MakeSim) -> None:
    sim = await make_sim()
    for user in ("owner", "installer"):
        async with client(sim, sim.mint_token(user, 3600)) as http:
            assert (await switch(http, {"enable": 1})).status_code == 200, user
            assert (await status(http))["connection"]["sc_stream"] == "enabled", user


async def test_a_gateway_without_cts_has_no_live_data(make_sim: MakeSim) -> None:
    sim = await make_sim(cts=False)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        assert (await http.get(STATUS)).status_code == 404
        assert (await switch(http, {"enable": 1})).status_code == 404

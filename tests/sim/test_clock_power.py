"""The freshness probe (``clock_power``): production that reads the simulated clock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from .conftest import MakeSim
from .helpers import NOON, client
from .raw_stream import RawStream, sse_events

LIVE_PHASES = ("agg_p_ph_a_mw", "agg_p_ph_b_mw", "agg_p_ph_c_mw")


async def production_w(http: httpx.AsyncClient) -> tuple[float, list[float]]:
    """The production CT's total and per-phase W from ``/production.json?details=1``."""
    body: dict[str, Any] = (await http.get("/production.json?details=1")).json()
    eim = body["production"][1]
    return eim["wNow"], [line["wNow"] for line in eim["lines"]]


async def test_every_view_shows_the_clock_as_production(make_sim: MakeSim) -> None:
    sim = await make_sim(clock_power=True, phases=3, speed=0)  # the clock stands at NOON
    expected = 10 * (NOON % 1000)  # 2000 W, kept to a multiple of 6 mW: 1999.998
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        total, lines = await production_w(http)
        await http.post("/ivp/livedata/stream", json={"enable": 1})
        live = (await http.get("/ivp/livedata/status")).json()["meters"]["pv"]
        v1 = (await http.get("/api/v1/production")).json()["wattsNow"]
    async with RawStream(sim, sim.mint_token("installer", 3600)) as stream:
        data = await stream.chunk()
    assert data is not None
    event = json.loads(sse_events(data)[0])["production"]

    assert total == 1999.998 and round(total) == expected == v1
    assert lines == [total / 3] * 3 == [666.666] * 3
    assert [live[key] for key in LIVE_PHASES] == [666_666] * 3
    assert live["agg_p_mw"] == 1_999_998
    assert [event[key]["p"] for key in ("ph-a", "ph-b", "ph-c")] == lines


async def test_a_value_tells_its_age(make_sim: MakeSim) -> None:
    sim = await make_sim(clock_power=True, speed=1)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        first, _ = await production_w(http)
        await asyncio.sleep(0.3)
        second, lines = await production_w(http)
    assert 2.9 <= second - first <= 15  # 10 W per second: 0.3 s is 3 W (plus the request)
    assert lines == [second / 2] * 2

"""One, two or three phases: every per-phase view agrees, and sums to its aggregate."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gem_envoy.sim import SimServer

from .conftest import MakeSim
from .helpers import client
from .raw_stream import RawStream, sse_events

PHASE_KEYS = ("ph-a", "ph-b", "ph-c")
LIVE_PHASES = ("agg_p_ph_a_mw", "agg_p_ph_b_mw", "agg_p_ph_c_mw")
LIVE_APPARENT = ("agg_s_ph_a_mva", "agg_s_ph_b_mva", "agg_s_ph_c_mva")


async def fetch(http: httpx.AsyncClient, path: str) -> Any:
    response = await http.get(path)
    assert response.status_code == 200, path
    return response.json()


def eim(entries: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(e for e in entries if e.get("measurementType") == kind)


async def first_event(sim: SimServer) -> dict[str, Any]:
    async with RawStream(sim, sim.mint_token("installer", 3600)) as stream:
        data = await stream.chunk()
    assert data is not None
    value: dict[str, Any] = json.loads(sse_events(data)[0])
    return value


async def live_status(http: httpx.AsyncClient) -> Any:
    """Live data, switched on first (off, it shows the values of start-up)."""
    assert (await http.post("/ivp/livedata/stream", json={"enable": 1})).status_code == 200
    return await fetch(http, "/ivp/livedata/status")


async def views(sim: SimServer) -> dict[str, Any]:
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        return {
            "production": await fetch(http, "/production.json?details=1"),
            "meters": await fetch(http, "/ivp/meters"),
            "readings": await fetch(http, "/ivp/meters/readings"),
            "live": await live_status(http),
            "event": await first_event(sim),
        }


@pytest.mark.parametrize(("phases", "mode"), [(1, "single"), (2, "split"), (3, "three")])
async def test_every_view_shows_the_same_phases(make_sim: MakeSim, phases: int, mode: str) -> None:
    # A frozen plant with batteries, so that every request sees the same instant.
    sim = await make_sim(phases=phases, battery=True, speed=0)
    seen = await views(sim)
    production = seen["production"]
    pv = eim(production["production"], "production")
    net = eim(production["consumption"], "net-consumption")
    load = eim(production["consumption"], "total-consumption")
    for entry in (pv, net, load):
        assert len(entry["lines"]) == phases
        assert round(sum(line["wNow"] for line in entry["lines"]), 3) == entry["wNow"]
    pv_w = [line["wNow"] for line in pv["lines"]]
    net_w = [line["wNow"] for line in net["lines"]]
    load_w = [line["wNow"] for line in load["lines"]]

    assert {(m["phaseMode"], m["phaseCount"]) for m in seen["meters"]} == {(mode, phases)}

    prod_reading, net_reading, load_reading, storage_reading = seen["readings"]
    meters = seen["live"]["meters"]
    storage_w = [meters["storage"][key] / 1000 for key in LIVE_PHASES[:phases]]
    for reading, expected in (
        (prod_reading, pv_w),
        (net_reading, net_w),
        (load_reading, load_w),
        (storage_reading, storage_w),  # the battery's own CT: positive discharging
    ):
        channels = [ch["activePower"] for ch in reading["channels"]]
        assert channels == expected
        assert round(sum(channels), 3) == reading["activePower"]

    assert meters["phase_count"] == phases
    assert meters["is_split_phase"] == (1 if phases == 2 else 0)
    padded = [*pv_w, *[0.0] * (3 - phases)]
    assert [meters["pv"][key] / 1000 for key in LIVE_PHASES] == padded
    for channel in ("pv", "storage", "grid", "load"):
        assert sum(meters[channel][key] for key in LIVE_PHASES) == meters[channel]["agg_p_mw"]
        apparent = sum(meters[channel][key] for key in LIVE_APPARENT)
        assert apparent == meters[channel]["agg_s_mva"]
    for key in LIVE_PHASES:  # load = pv + grid + storage, phase by phase
        parts = (meters[name][key] for name in ("pv", "grid", "storage"))
        assert meters["load"][key] == sum(parts)
    assert [meters["load"][key] / 1000 for key in LIVE_PHASES[:phases]] == load_w

    event = seen["event"]
    for ct, expected in (
        ("production", pv_w),
        ("net-consumption", net_w),
        ("total-consumption", load_w),
    ):
        assert set(event[ct]) == set(PHASE_KEYS)
        assert [event[ct][key]["p"] for key in PHASE_KEYS[:phases]] == expected
        for unused in PHASE_KEYS[phases:]:
            assert set(event[ct][unused].values()) == {0.0}


async def test_three_phases_at_midday_one_imports_while_the_others_export(
    make_sim: MakeSim,
) -> None:
    sim = await make_sim(phases=3, speed=0)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        solar = (await fetch(http, "/__sim/plant"))["solar_w"]
        # A house using 90 % of what the roof makes, unequally over its phases (25/45/30 %).
        await http.post("/__sim/plant", json={"load_w": 0.9 * solar})
        net = eim(
            (await fetch(http, "/production.json?details=1"))["consumption"], "net-consumption"
        )
        grid = (await live_status(http))["meters"]["grid"]
    signs = [line["wNow"] > 0 for line in net["lines"]]
    assert signs == [False, True, False]
    assert [grid[key] > 0 for key in LIVE_PHASES] == signs


async def test_split_phase_stays_the_default(sim: SimServer) -> None:
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        meters = await fetch(http, "/ivp/meters")
        production = await fetch(http, "/production.json?details=1")
    assert {(m["phaseMode"], m["phaseCount"]) for m in meters} == {("split", 2)}
    assert len(eim(production["production"], "production")["lines"]) == 2


async def test_phases_must_be_one_two_or_three(make_sim: MakeSim) -> None:
    with pytest.raises(ValueError, match="phases"):
        await make_sim(phases=4)

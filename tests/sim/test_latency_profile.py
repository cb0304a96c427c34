"""The field latency profile: its draws, the gateway's one-request-at-a-time service, and
the busy time in /__sim/stats."""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import pytest

from gem_envoy.sim import SimOptions
from gem_envoy.sim.latency_profile import (
    CGI,
    CGI_DETAILS,
    CGI_MAX_S,
    CGI_MEDIAN_S,
    CGI_MIN_S,
    NATIVE,
    NATIVE_MAX_S,
    NATIVE_MIN_S,
    FieldLatency,
    spread_for,
)

from .conftest import MakeSim
from .helpers import client, get_stats
from .raw_stream import STREAM, RawStream

SCALE = 0.02
"""Real seconds per drawn second in these tests: a 1.5 s draw sleeps 30 ms."""


def test_draws_stay_in_the_reported_ranges_with_the_chosen_medians() -> None:
    rng = random.Random(1)
    native = [NATIVE.draw(rng) for _ in range(4000)]
    cgi = [CGI.draw(rng) for _ in range(4000)]
    details = [CGI_DETAILS.draw(rng) for _ in range(4000)]
    assert min(native) >= NATIVE_MIN_S and max(native) <= NATIVE_MAX_S
    assert min(cgi + details) >= CGI_MIN_S and max(cgi + details) <= CGI_MAX_S
    assert statistics.median(cgi) == pytest.approx(CGI_MEDIAN_S, rel=0.1)
    assert statistics.median(details) > statistics.median(cgi)
    # One /production.json costs the gateway about ten native reads (the premise).
    assert 7 < statistics.mean(cgi) / statistics.mean(native) < 13


def test_the_cgi_script_is_production_json_alone() -> None:
    assert spread_for("/production.json", "") is CGI
    assert spread_for("/production.json", "details=1") is CGI_DETAILS
    for path in ("/api/v1/production", "/ivp/meters/readings", "/info", "/admin/lib/tariff"):
        assert spread_for(path, "") is NATIVE


def test_a_seed_repeats_its_draws() -> None:
    paths = ["/production.json", "/info", "/api/v1/production"] * 5
    first = [FieldLatency(7).service_s(p) for p in paths]
    again = [FieldLatency(7).service_s(p) for p in paths]
    other = [FieldLatency(8).service_s(p) for p in paths]
    assert first == again != other


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_profile"):
        SimOptions(latency_profile="lab")


async def test_busy_time_per_path_is_the_sum_of_the_draws(make_sim: MakeSim) -> None:
    sim = await make_sim(latency_profile="field", latency_seed=3, latency_scale=SCALE)
    targets = ["/production.json", "/api/v1/production", "/production.json?details=1"]
    expected = FieldLatency(3)
    drawn: dict[str, float] = {}
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        for target in targets:
            assert (await http.get(target)).status_code == 200
            path, _, query = target.partition("?")
            drawn[path] = drawn.get(path, 0.0) + expected.service_s(path, query)
        stats = await get_stats(http)
    for path, busy_s in drawn.items():
        assert stats["paths"][path]["busy_s"] == pytest.approx(busy_s, abs=1e-5)
    assert stats["busy_s"] == pytest.approx(sum(drawn.values()), abs=1e-5)


async def test_the_gateway_serves_one_request_at_a_time(make_sim: MakeSim) -> None:
    sim = await make_sim(latency_profile="field", latency_scale=SCALE)
    token = sim.mint_token("installer", 3600)
    async with client(sim, token) as first, client(sim, token) as second:
        await asyncio.gather(get_stats(first), get_stats(second))  # connect (not delayed)
        started = time.perf_counter()
        await asyncio.gather(
            *(http.get("/production.json") for http in (first, second) for _ in range(3))
        )
        elapsed = time.perf_counter() - started
        stats = await get_stats(first)
    # One after the other: the wall time covers every service time, not the longest alone.
    assert elapsed >= stats["busy_s"] * SCALE * 0.95
    assert stats["paths"]["/production.json"]["requests"] == 6


async def test_an_open_stream_neither_holds_the_gateway_nor_counts_busy_time(
    make_sim: MakeSim,
) -> None:
    sim = await make_sim(latency_profile="field", latency_scale=SCALE, stream_interval_s=0.02)
    token = sim.mint_token("installer", 3600)
    async with RawStream(sim, token) as stream, client(sim, token) as http:
        assert stream.status == 200
        await stream.chunks(3)
        opened = (await get_stats(http))["paths"][STREAM]["busy_s"]
        assert NATIVE_MIN_S <= opened <= NATIVE_MAX_S  # its opening alone
        started = time.perf_counter()
        assert (await http.get("/api/v1/production")).status_code == 200
        assert time.perf_counter() - started < 1.0  # not queued behind the stream
        await stream.chunks(3)
        stats = await get_stats(http)
    assert stats["paths"][STREAM]["busy_s"] == opened


async def test_without_the_profile_there_is_no_busy_time(make_sim: MakeSim) -> None:
    sim = await make_sim()
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        await http.get("/production.json")
        stats = await get_stats(http)
    assert stats["busy_s"] == 0
    assert stats["paths"]["/production.json"]["busy_s"] == 0


def test_the_command_line_sets_the_profile() -> None:
    import argparse

    from gem_envoy.sim import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        ["--latency-profile", "field", "--latency-seed", "4", "--latency-scale", "0.01"]
    )
    options = cli.options_from_args(args)
    assert (options.latency_profile, options.latency_seed, options.latency_scale) == (
        "field",
        4,
        0.01,
    )
    assert cli.options_from_args(parser.parse_args([])).latency_profile == "none"


def test_the_expected_draw_is_the_mean_of_many_draws() -> None:
    rng = random.Random(2)
    for spread in (NATIVE, CGI, CGI_DETAILS):
        draws = [spread.draw(rng) for _ in range(50_000)]
        assert spread.mean_s() == pytest.approx(statistics.mean(draws), rel=0.03)

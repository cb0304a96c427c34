"""``/stream/meter``: who may open it, how events are framed, what the stats show, replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gem_envoy.sim import SimServer

from ..eventually import eventually
from .conftest import MakeSim
from .helpers import client, get_stats
from .raw_stream import STREAM, RawStream, parse, sse_events

FAST = 0.02
"""Seconds between events in these tests (a real gateway: one a second)."""


def installer(sim: SimServer) -> str:
    return sim.mint_token("installer", 3600)


async def test_each_event_is_one_chunk_from_a_fresh_snapshot(make_sim: MakeSim) -> None:
    sim = await make_sim(speed=600, stream_interval_s=FAST)
    async with RawStream(sim, installer(sim)) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream"
        chunks = await stream.chunks(5)
    assert len(chunks) == 5
    for data in chunks:
        assert data.startswith(b"data: {") and data.endswith(b"}\n\n")
        assert len(sse_events(data)) == 1
    events = [parse(sse_events(data)[0]) for data in chunks]
    assert all(event is not None for event in events)
    voltages = {event["production"]["ph-a"]["v"] for event in events if event}
    assert len(voltages) > 1  # each event measured anew: the voltage wanders with time


async def test_one_event_per_interval(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=0.2)
    async with RawStream(sim, installer(sim)) as stream:
        await stream.chunk()
        started = asyncio.get_running_loop().time()
        await stream.chunks(3)
        elapsed = asyncio.get_running_loop().time() - started
    assert 0.5 < elapsed < 2.0


async def test_head_gets_the_headers_without_waiting_for_events(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=60)
    async with client(sim, installer(sim), timeout=2) as http:
        response = await http.head(STREAM)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"


async def test_owner_gets_401_and_a_gateway_without_cts_404(make_sim: MakeSim) -> None:
    sim = await make_sim()
    async with RawStream(sim, sim.mint_token("owner", 3600)) as stream:
        assert stream.status == 401
    bare = await make_sim(cts=False)
    async with RawStream(bare, installer(bare)) as stream:
        assert stream.status == 404


async def test_stats_count_open_streams_and_the_stream_bytes(make_sim: MakeSim) -> None:
    # Events 5 s apart: a stream that ends must be noticed when the client leaves, not at
    # the next event.
    sim = await make_sim(stream_interval_s=5)
    async with client(sim) as http:
        first = RawStream(sim, installer(sim))
        async with first:
            assert await first.chunk() is not None
            stats = await get_stats(http)
            assert (stats["streams_open"], stats["max_streams_open"]) == (1, 1)
        await eventually(
            lambda: sim.stats.streams_open == 0, timeout_s=1, what="the stream is seen closed"
        )
        async with RawStream(sim, installer(sim)) as second:
            assert await second.chunk() is not None
            stats = await get_stats(http)
        received = first.received + second.received
    assert (stats["streams_open"], stats["max_streams_open"]) == (1, 1)
    assert stats["paths"][STREAM] == {"requests": 2, "bytes": received, "busy_s": 0.0}
    assert stats["requests"][STREAM] == 2


async def test_two_streams_at_once_show_in_max_streams_open(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=FAST)
    async with RawStream(sim, installer(sim)) as one, RawStream(sim, installer(sim)) as two:
        await one.chunk()
        await two.chunk()
        assert sim.stats.max_streams_open == 2


async def test_capture_replays_its_recorded_events_in_a_loop(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    (tmp_path / "info").write_text(
        "<envoy_info><device><sn>122300000077</sn></device></envoy_info>"
    )
    recorded = [b'{"production":{"ph-a":{"p":%d.5}}}' % n for n in range(3)]
    # As a gateway sent it; CR LF line endings here, to show they do not matter.
    (tmp_path / "stream_meter").write_bytes(b"".join(b"data: " + e + b"\r\n\r\n" for e in recorded))
    sim = await make_sim(capture=tmp_path, stream_interval_s=FAST)
    async with RawStream(sim, installer(sim)) as stream:
        chunks = await stream.chunks(5)
    assert [sse_events(data)[0] for data in chunks] == [*recorded, *recorded[:2]]
    assert all(data.endswith(b"\n\n") for data in chunks)


async def test_capture_without_a_recorded_stream_has_none(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    (tmp_path / "info").write_text(
        "<envoy_info><device><sn>122300000077</sn></device></envoy_info>"
    )
    sim = await make_sim(capture=tmp_path)
    async with RawStream(sim, installer(sim)) as stream:
        assert stream.status == 404

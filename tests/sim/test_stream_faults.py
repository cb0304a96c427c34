"""The ``stream-*`` faults, seen by a raw reader of ``/stream/meter`` over 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from gem_envoy.sim import SimServer
from gem_envoy.sim.event_stream import BURST_BYTES
from gem_envoy.sim.faults import Fault

from .conftest import MakeSim
from .helpers import client
from .raw_stream import RawStream, parse, sse_events

FAST = 0.02
"""Seconds between events here."""


async def set_fault(sim: SimServer, **body: Any) -> None:
    async with client(sim) as http:
        reply = await http.post("/__sim/fault", json=body)
    assert reply.status_code == 200, reply.text


async def clear_fault(sim: SimServer) -> None:
    async with client(sim) as http:
        assert (await http.delete("/__sim/fault")).status_code == 200


def open_stream(sim: SimServer) -> RawStream:
    return RawStream(sim, sim.mint_token("installer", 3600))


async def test_stall_holds_open_and_new_streams_until_it_clears(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=0.1)
    async with open_stream(sim) as before:
        assert await before.chunk() is not None
        await set_fault(sim, kind="stream-stall")
        async with open_stream(sim) as during:
            assert during.status == 200
            with pytest.raises(TimeoutError):
                await during.chunk(timeout_s=0.3)
            # What was on its way when the stall began (a stream going on would fill the
            # limit of 5 long before 0.4 s passed without an event), then nothing.
            assert len(await before.drain(quiet_s=0.4, limit=5)) < 5
            with pytest.raises(TimeoutError):
                await before.chunk(timeout_s=0.3)
            assert sim.stats.streams_open == 2  # the connections stay open
            await clear_fault(sim)
            for stream in (before, during):
                data = await stream.chunk(timeout_s=1)
                assert data is not None and parse(sse_events(data)[0]) is not None


async def test_disconnect_breaks_off_mid_event_after_a_few(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=FAST)
    await set_fault(sim, kind="stream-disconnect")
    async with open_stream(sim) as stream:
        chunks = await stream.chunks(10)
    whole, (partial,) = chunks[:-1], chunks[-1:]
    assert len(whole) == 3
    assert all(len(sse_events(data)) == 1 for data in whole)
    assert partial.startswith(b"data: {") and sse_events(partial) == []
    assert parse(partial.removeprefix(b"data: ")) is None  # cut in the middle
    assert sim.stats.faults_applied == 1


async def test_garbage_comes_now_and_then_among_good_events(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=FAST)
    await set_fault(sim, kind="stream-garbage")
    async with open_stream(sim) as stream:
        body = b"".join(await stream.chunks(16))
    events = sse_events(body)
    good = [e for e in events if parse(e) is not None]
    bad = [e for e in events if parse(e) is None]
    assert len(good) >= 10 and len(bad) >= 3
    assert b'{"production": tru' in bad  # JSON cut short
    assert any(e.startswith(b"\x89") for e in bad)  # bytes that are no JSON at all
    assert any(not line.startswith(b"data:") for line in body.split(b"\n\n") if line)


async def test_split_cuts_events_joins_some_and_varies_line_endings(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=FAST)
    await set_fault(sim, kind="stream-split")
    async with open_stream(sim) as stream:
        chunks = await stream.chunks(30)
    body = b"".join(chunks)
    events = sse_events(body)
    assert len(events) >= 8 and all(parse(e) is not None for e in events)
    assert sum(len(sse_events(c)) == 0 for c in chunks) > len(chunks) / 2  # event pieces
    assert any(len(sse_events(c)) >= 2 for c in chunks)  # several events in one write
    assert b"}\r\n\r\n" in body and b"}\n\n" in body
    assert b"}\r\r" in body


async def test_burst_sends_16_kib_at_a_time(make_sim: MakeSim) -> None:
    sim = await make_sim(stream_interval_s=0.005)
    await set_fault(sim, kind="stream-burst")
    async with open_stream(sim) as stream:
        chunks = await stream.chunks(2, timeout_s=3)
    assert [len(c) for c in chunks] == [BURST_BYTES, BURST_BYTES]
    assert 15 <= len(sse_events(chunks[0])) <= 25  # as D7.0.88: about 20 events a burst


async def test_a_stream_fault_spares_other_paths_and_clears_with_its_duration(
    make_sim: MakeSim,
) -> None:
    sim = await make_sim(stream_interval_s=FAST)
    await set_fault(sim, kind="stream-stall", duration_s=0.3)
    async with client(sim, sim.mint_token("installer", 3600)) as http:
        assert (await http.get("/production.json")).status_code == 200
    async with open_stream(sim) as stream:
        data = await stream.chunk(timeout_s=1.5)
    assert data is not None


def test_stream_kinds_are_faults_like_the_others() -> None:
    fault = Fault.from_json({"kind": "stream-garbage", "fraction": 0.5, "duration_s": 10})
    assert fault.as_json()["kind"] == "stream-garbage"

"""Live samples: shown at once, charted as one mean per polling interval, never repeated."""

from __future__ import annotations

import pytest

from gem_envoy.host.events import EventHub
from gem_envoy.host.live_history import LiveHistory
from gem_envoy.host.sink import StoreSink
from gem_envoy.host.store import Store


def test_a_window_gives_the_mean_of_its_samples_once_the_next_begins() -> None:
    live = LiveHistory()
    assert live.add({"p": 100.0}, 30.0, 30.0) == []
    assert live.add({"p": 200.0}, 45.0, 30.0) == []
    assert live.add({"p": 600.0}, 59.0, 30.0) == []
    assert live.add({"p": 50.0}, 61.0, 30.0) == [("p", 59.0, 300.0)]
    assert live.close(["p", "q"]) == [("p", 61.0, 50.0)]
    assert live.close(["p"]) == []


def test_a_kettle_for_part_of_a_window_counts_for_its_share() -> None:
    live = LiveHistory()
    for second in range(30):
        live.add({"load": 2000.0 if second < 20 else 200.0}, 300.0 + second, 30.0)
    [(_, _, mean)] = live.add({"load": 200.0}, 330.0, 30.0)
    assert mean == pytest.approx((20 * 2000 + 10 * 200) / 30)


async def _sink(store: Store) -> tuple[StoreSink, int, EventHub]:
    device = await store.add_device("gw", "enphase_envoy")
    events = EventHub()
    return StoreSink(store, device.id, events, history={"production_now_w"}), device.id, events


async def test_live_samples_are_shown_at_once_and_charted_once_per_interval(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, device_id, _ = await _sink(store)
    clock = [1000.0]
    monkeypatch.setattr("gem_envoy.host.sink.time.time", lambda: clock[0])
    for second in range(90):  # three 30 s windows, one sample a second
        clock[0] = 1020.0 + second
        await sink.device_live({"production_now_w": 100 + second}, history_every_s=30)
        stored = await store.get_attributes("device", device_id)
        assert stored["production_now_w"].value == 100 + second
    points = await store.history("device", device_id, "production_now_w", 0, None)
    # 1020-1049 closes at 1050, 1050-1079 at 1080; the window from 1080 is still open.
    assert [value for _, value in points] == [100 + 14.5, 100 + 44.5]
    assert [ts for ts, _ in points] == [1049.0, 1079.0]


async def test_an_unchanged_sample_writes_nothing_and_tells_nobody(store: Store) -> None:
    sink, device_id, events = await _sink(store)
    await sink.device_live({"production_now_w": 0, "live_source": "stream"}, history_every_s=30)
    before = await store.get_attributes("device", device_id)
    async with events.subscribe() as queue:
        for _ in range(5):
            await sink.device_live(
                {"production_now_w": 0, "live_source": "stream"}, history_every_s=30
            )
        assert queue.empty()
    after = await store.get_attributes("device", device_id)
    assert after["production_now_w"].updated_at == before["production_now_w"].updated_at


async def test_the_poll_taking_over_keeps_what_the_feed_saw(store: Store) -> None:
    sink, device_id, _ = await _sink(store)
    for watts in (1000, 2000):
        await sink.device_live({"production_now_w": watts}, history_every_s=3600)
    await sink.device_attributes({"production_now_w": 1700})
    points = await store.history("device", device_id, "production_now_w", 0, None)
    assert [value for _, value in points] == [1500.0, 1700.0]

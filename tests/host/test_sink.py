"""Only what a driver declares as charted is kept in history."""

from __future__ import annotations

from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.host.events import EventHub
from gem_envoy.host.sink import StoreSink
from gem_envoy.host.store import Store


async def test_undeclared_attributes_get_no_history(store: Store) -> None:
    device = await store.add_device("gw", "enphase_envoy")
    charted = EnphaseEnvoyDriver.metadata().history_names()
    sink = StoreSink(store, device.id, EventHub(), history=charted)
    for n in range(3):
        await sink.device_attributes(
            {"production_now_w": 1000 + n, "last_poll_ms": 1_700_000_000_000 + n, "port": 443}
        )
    assert len(await store.history("device", device.id, "production_now_w", 0, None)) == 3
    for bookkeeping in ("last_poll_ms", "port"):
        assert await store.history("device", device.id, bookkeeping, 0, None) == []
    # The values themselves are still stored and shown.
    stored = await store.get_attributes("device", device.id)
    assert stored["last_poll_ms"].value == 1_700_000_000_002


def test_the_driver_charts_its_readings_and_not_its_settings() -> None:
    charted = EnphaseEnvoyDriver.metadata().history_names()
    assert {"production_now_w", "production_lifetime_wh", "battery_soc_percent"} <= charted
    assert {"last_w"} <= charted  # zones: each inverter's power
    assert not charted & {"polling_interval", "port", "token", "last_report_time", "max_w"}

"""The live feed's pieces: which source, what a sample means, per-phase power, and that
the feed outlives a failure of its own."""

from __future__ import annotations

import pytest

from gem_envoy.drivers.enphase_envoy import live_feed
from gem_envoy.drivers.enphase_envoy.derive import Attributes
from gem_envoy.drivers.enphase_envoy.live_choice import (
    LIVEDATA,
    POLL,
    STREAM,
    GatewayTraits,
    LiveChoice,
)
from gem_envoy.drivers.enphase_envoy.live_values import live_attributes
from gem_envoy.drivers.enphase_envoy.phases import phase_attributes
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.models import LivePower
from gem_envoy.envoy.transport import HttpsTransport
from gem_envoy.sim import SimOptions, start_simulator
from tests.eventually import eventually


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def traits(*, metered: bool = True, installer: bool = True) -> GatewayTraits:
    return GatewayTraits(metered=metered, installer=installer, has_battery=False, firmware="D8")


def test_an_installer_gets_the_stream_an_owner_livedata_and_no_ct_the_poll() -> None:
    choice = LiveChoice()
    assert choice.choose(traits()) == STREAM
    assert choice.choose(traits(installer=False)) == LIVEDATA
    assert choice.choose(traits(metered=False)) == POLL
    assert choice.choose(None) == POLL  # nothing polled yet


def test_a_refused_source_waits_for_a_new_token_and_a_failing_one_rests() -> None:
    clock = Clock()
    choice = LiveChoice(clock)
    choice.set_aside(STREAM, "401")
    choice.rest(LIVEDATA, 60)
    assert choice.choose(traits()) == POLL
    assert choice.next_wake_s() == 60
    clock.now = 60
    assert choice.choose(traits()) == LIVEDATA  # rested: tried again
    clock.now = 10_000
    assert choice.choose(traits()) == LIVEDATA  # refused: not before the token changes
    choice.forget()
    assert choice.choose(traits()) == STREAM


def test_a_sample_reads_as_the_poll_would_report_it() -> None:
    power = LivePower(
        production_w=4815.23,
        consumption_w=902.82,
        grid_w=-1902.41,
        battery_w=-2010.0,
        soc_percent=62.0,
        production_phases_w=(1605.1, 1598.73, 1611.4),
        consumption_phases_w=(220.1, 453.5, 229.22),
        grid_phases_w=(-380.0, -140.23, -1382.18),
    )
    attrs = live_attributes(power, has_battery=True)
    assert attrs["production_now_w"] == 4815
    assert attrs["net_power_w"] == 1902  # exporting: positive, as the contract signs it
    assert (attrs["battery_now_w"], attrs["battery_state"]) == (-2010, "charging")
    assert attrs["battery_soc_percent"] == 62.0
    assert (attrs["net_power_w_l1"], attrs["net_power_w_l3"]) == (380, 1382)
    assert attrs["consumption_now_w_l2"] == 454
    no_battery = live_attributes(power, has_battery=False)
    assert not {"battery_now_w", "battery_state", "battery_soc_percent"} & no_battery.keys()


def test_phases_appear_only_where_more_than_one_is_in_use() -> None:
    assert phase_attributes((), (), ()) == {}
    assert phase_attributes((1500.0,), (300.0,), (1200.0,)) == {}  # single phase: the total
    split = phase_attributes((750.0, 750.0, 0.0), (100.0, 200.0, 0.0), (650.0, 550.0, 0.0))
    assert sorted(split) == sorted(
        f"{name}_{phase}"
        for name in ("production_now_w", "consumption_now_w", "net_power_w")
        for phase in ("l1", "l2")
    )
    night = phase_attributes((0.0, 0.0, 0.0), (80.0, 0.0, 40.0), (-80.0, 0.0, -40.0))
    assert night["production_now_w_l3"] == 0 and night["consumption_now_w_l2"] == 0


class FailingOnce:
    """A reporter whose first sample fails, as a store that is briefly unwritable would."""

    def __init__(self) -> None:
        self.samples: list[Attributes] = []
        self.failed = False

    async def live_values(self, values: Attributes) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("the store is closed")
        self.samples.append(values)

    async def live_status(self, source: str, state: str) -> None:
        del source, state


async def test_a_failure_outside_the_gateway_does_not_end_the_feed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(live_feed, "MAX_BACKOFF_S", 0.2)
    sim = await start_simulator(SimOptions(clock_power=True, stream_interval_s=0.2))
    client = EnvoyClient(
        HttpsTransport(sim.host, sim.port, timeout_s=5), sim.mint_token("installer", 3600)
    )
    reporter = FailingOnce()
    feed = live_feed.LiveFeed(client, reporter, name="envoy", interval_s=1.0)
    try:
        feed.observe(GatewayTraits(metered=True, installer=True, has_battery=False, firmware="D8"))
        feed.start()
        await eventually(lambda: len(reporter.samples) >= 2, timeout_s=10)
    finally:
        await feed.stop()
        await client.close()
        await sim.close()
    assert reporter.failed
    assert "the live feed failed" in caplog.text


class Recording:
    """A reporter that keeps what the feed reports."""

    def __init__(self) -> None:
        self.samples: list[Attributes] = []
        self.statuses: list[tuple[str, str]] = []

    async def live_values(self, values: Attributes) -> None:
        self.samples.append(values)

    async def live_status(self, source: str, state: str) -> None:
        self.statuses.append((source, state))


async def test_an_unwanted_feed_rests_and_a_wanted_one_opens_its_source_at_once() -> None:
    sim = await start_simulator(SimOptions(clock_power=True))
    client = EnvoyClient(
        HttpsTransport(sim.host, sim.port, timeout_s=5), sim.mint_token("installer", 3600)
    )
    reporter = Recording()
    feed = live_feed.LiveFeed(client, reporter, name="envoy", interval_s=1.0, wanted=False)
    try:
        feed.observe(traits())
        feed.start()
        await eventually(lambda: reporter.statuses == [(POLL, "idle")], timeout_s=5)
        assert sim.stats.path_requests["/stream/meter"] == 0 and not feed.supplies()
        feed.want(True)
        await eventually(lambda: reporter.samples, timeout_s=2.5, what="a sample within 2 s")
        assert reporter.statuses[-1] == (STREAM, "active") and feed.supplies()
        feed.want(False)
        await eventually(
            lambda: sim.stats.streams_open == 0 and reporter.statuses[-1] == (POLL, "idle"),
            timeout_s=2,
            what="the stream closed within a second or two",
        )
        assert not feed.supplies()
    finally:
        await feed.stop()
        await client.close()
        await sim.close()

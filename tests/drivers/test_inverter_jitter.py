"""Gateways started together must not read their inverter lists (and write their zones) in
the same seconds every 5 minutes: the second list falls at a random point of the second half
of its period, then every period; no gap is ever longer than the period."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from gem_envoy.drivers.enphase_envoy.poller import INVERTERS_EVERY_S, GatewayPoller
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.paths import INVERTERS
from tests.captures import capture_transport

CTS_AND_BATTERY = "8.1.41"  # metered: the list keeps its own pace
NO_CTS = "7.6.114_without_cts"  # inverter-paced: one request a cycle
CYCLE_S = 5.0


async def _list_times(capture: str, jitter: Callable[[], float], minutes: int = 21) -> list[float]:
    """When the inverter list was read, over `minutes` of 5 s cycles from a fresh connect."""
    transport = capture_transport(capture)
    now = [0.0]
    poller = GatewayPoller(
        EnvoyClient(transport, transport.mint("installer")),
        all_zones=True,
        clock=lambda: now[0],
        jitter=jitter,
    )
    await poller.connect()
    times = []
    while now[0] <= minutes * 60:
        before = transport.requests[INVERTERS]
        result = await poller.cycle()
        if transport.requests[INVERTERS] > before:
            assert result.zones  # every read list reaches the zones
            times.append(now[0])
        now[0] += CYCLE_S
    return times


@pytest.mark.parametrize("capture", [CTS_AND_BATTERY, NO_CTS])
@pytest.mark.parametrize("draw", [0.0, 0.37, 0.999])
async def test_the_second_list_is_drawn_within_the_period_then_the_period_holds(
    capture: str, draw: float
) -> None:
    times = await _list_times(capture, lambda: draw)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert times[0] <= CYCLE_S  # the zones have values from the first cycles
    half = INVERTERS_EVERY_S / 2
    # The drawn gap, to within the cycle that reads it (one more where it waits a cycle).
    assert half + draw * half <= gaps[0] <= half + draw * half + 2 * CYCLE_S
    assert all(INVERTERS_EVERY_S <= gap <= INVERTERS_EVERY_S + 2 * CYCLE_S for gap in gaps[1:])
    assert len(gaps) >= 3


async def test_gateways_started_together_spread_their_lists() -> None:
    draws = iter([0.0, 0.5, 0.999])
    seconds = {(await _list_times(CTS_AND_BATTERY, lambda: next(draws), 6))[1] for _ in range(3)}
    assert len(seconds) == 3 and max(seconds) - min(seconds) >= INVERTERS_EVERY_S / 3

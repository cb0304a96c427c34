"""GET /api/history over long spans: 5-minute rollups past 2 days, hourly past 60 (or before
the 5-minute ones' retention), the raw points not yet folded after them, 2000 points at most,
and a year answered well within 200 ms."""

from __future__ import annotations

import time

from gem_envoy.host.store import ROLLUP_RETENTION_KEY, HistorySeries
from tests.host.api.conftest import Host

HOUR = 3600.0
DAY = 86400.0


async def hourly_points(host: Host, days: int = 100) -> tuple[int, float]:
    """A device with `days` of hourly points (power and a lifetime counter), each 600 s
    into its hour, and one more 10 s ago (in this hour); rolled up. Returns its id and the
    newest time."""
    device = await host.add_device("meter", enabled=False)
    host.store.declare_counters({"energy_wh"})
    now = time.time()
    hour_start = now - now % HOUR
    base = hour_start - days * DAY
    stamps = [base + k * HOUR + 600 for k in range(days * 24)] + [max(now - 10, hour_start + 1)]
    await host.store.add_history(
        [
            HistorySeries("device", device["id"], "power_w", [(t, 100.0) for t in stamps]),
            HistorySeries(
                "device", device["id"], "energy_wh", [(t, 1e6 + k) for k, t in enumerate(stamps)]
            ),
        ]
    )
    # Every hour before this one folded, whatever the minute the test runs at (a bucket is
    # folded 300 s after its end); the newest point, in this hour, stays raw.
    await host.store.roll_up(hour_start + 301)
    return device["id"], stamps[-1]


async def chart(
    host: Host, device: int, name: str, since: float, until: float | None = None
) -> list[list[float]]:
    params = {"since": since} if until is None else {"since": since, "until": until}
    answer = await host.user.get(f"/api/history/device/{device}/{name}", params=params)
    assert answer.status_code == 200, answer.text
    points = answer.json()["points"]
    assert isinstance(points, list)
    return points


def phases(points: list[list[float]]) -> set[float]:
    """Where in its hour each point lies: 600 raw, 750 a 5-minute bucket, 1800 an hour."""
    return {ts % HOUR for ts, _ in points}


async def test_the_span_picks_raw_points_5_minute_or_hourly_rollups(host: Host) -> None:
    device, newest = await hourly_points(host)
    now = time.time()
    day = await chart(host, device, "power_w", now - DAY)
    assert phases(day[:-1]) == {600.0}  # raw
    ten_days = await chart(host, device, "power_w", now - 10 * DAY)
    assert phases(ten_days[:-1]) == {750.0} and len(ten_days) in (240, 241)
    seventy_days = await chart(host, device, "power_w", now - 70 * DAY)
    assert phases(seventy_days[:-1]) == {1800.0} and len(seventy_days) in (1680, 1681)
    for points in (day, ten_days, seventy_days):
        assert points[-1] == [newest, 100.0]  # not folded yet: raw, after the buckets
        assert {value for _, value in points} == {100.0}


async def test_a_counter_is_charted_by_its_readings(host: Host) -> None:
    device, _newest = await hourly_points(host)
    points = await chart(host, device, "energy_wh", time.time() - 70 * DAY)
    values = [value for _, value in points]
    assert values == sorted(values) and values[-1] == 1e6 + 100 * 24
    assert values[-2] - values[-3] == 1.0  # one reading per hour, as stored


async def test_windows_before_a_retention_come_from_coarser_buckets(host: Host) -> None:
    device, _ = await hourly_points(host)
    await host.store.set_setting(ROLLUP_RETENTION_KEY, "30")
    now = time.time()
    old = await chart(host, device, "power_w", now - 40 * DAY, now - 35 * DAY)
    assert phases(old) == {1800.0} and len(old) == 5 * 24
    recent = await chart(host, device, "power_w", now - 20 * DAY, now - 15 * DAY)
    assert phases(recent) == {750.0}
    # A day from before the raw points' retention (10 days): its raw points are gone.
    day = await chart(host, device, "power_w", now - 20 * DAY, now - 19 * DAY)
    assert phases(day) == {750.0} and len(day) == 24


async def test_a_year_of_hourly_rollups_answers_well_within_200_ms(host: Host) -> None:
    device, _ = await hourly_points(host, days=365)
    since = time.time() - 365 * DAY
    await chart(host, device, "power_w", since)  # the first request warms the connection up
    started = time.perf_counter()
    points = await chart(host, device, "power_w", since)
    elapsed = time.perf_counter() - started
    assert 1000 < len(points) <= 2000
    assert elapsed < 0.2, f"{elapsed * 1000:.0f} ms"
    print(f"\n1-year chart from hourly rollups: {elapsed * 1000:.1f} ms, {len(points)} points")


async def test_a_series_never_rolled_up_is_charted_from_raw_points(host: Host) -> None:
    device = await host.add_device("meter", enabled=False)
    now = time.time()
    points = [(now - 5 * DAY + k * 600, float(k)) for k in range(5 * 144)]
    await host.store.add_history([HistorySeries("device", device["id"], "power_w", points)])
    charted = await chart(host, device["id"], "power_w", now - 6 * DAY)
    assert charted == [[ts, value] for ts, value in points]

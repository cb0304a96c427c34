"""`gem-envoy demo` started late in the evening, as a newcomer would at 23:00: the sun of its
simulated gateway is up all the same, the page says why, and the charts have a past."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.test_demo import start_demo, stop

HOUR = 3600.0


def night() -> dict[str, str]:
    """The environment of a machine on which it is 23:xx now: a POSIX time zone whose offset
    from UTC makes it so (``NIGHT+3`` is three hours behind UTC)."""
    west = (time.gmtime().tm_hour - 23) % 24
    west = west - 24 if west > 12 else west
    return {"TZ": f"NIGHT{west:+d}"}


@contextmanager
def signed_in(url: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as api:
        token = api.post("/api/token", json={"username": "admin", "password": password}).json()
        api.headers["Authorization"] = f"Bearer {token['token']}"
        yield api


def points(api: httpx.Client, name: str, since: float) -> list[list[float]]:
    answer = api.get(f"/api/history/device/1/{name}", params={"since": since})
    assert answer.status_code == 200, answer.text
    found: list[list[float]] = answer.json()["points"]
    return found


def energy(api: httpx.Client, period: str) -> list[dict[str, Any]]:
    answer = api.get("/api/energy/1", params={"period": period})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["buckets"]
    return found


def test_at_23h_the_demo_shows_sun_says_why_and_charts_a_past(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "gem.db"
    started = time.monotonic()
    process, url, password, seen = start_demo(db, night())
    try:
        with signed_in(url, password) as api:
            production = 0
            while production <= 0:  # the flow's solar figure, as the overview reads it
                assert time.monotonic() - started < 30, "no solar production within 30 s"
                device = api.get("/api/attributes/device/1").json()
                production = device.get("production_now_w", 0)
                time.sleep(0.5)
            notice = api.get("/api/notice").json()["notice"]
            now = time.time()
            day = points(api, "production_now_w", now - 24 * HOUR)
            week = points(api, "battery_soc_percent", now - 7 * 24 * HOUR)
            year = points(api, "grid_import_lifetime_wh", now - 400 * 24 * HOUR)
            years = energy(api, "year")
    finally:
        log = stop(process, seen)
    assert "Traceback" not in log
    says = "clock runs 12 hours behind this computer's"
    assert says in notice and "simulated" in notice and notice in log
    assert day[-1][0] - day[0][0] >= 20 * HOUR  # the 24-hour chart is full
    assert max(v for _, v in day) > 1000 and min(v for _, v in day) == 0  # a day and a night
    assert week[0][0] < now - 6.9 * 24 * HOUR  # and so is the 7-day one
    # 400 days of counters: a year view of two years, each with energy both ways.
    assert year[0][0] < now - 399 * 24 * HOUR
    values = [v for _, v in year]
    assert values == sorted(values) and values[-1] > values[0]
    assert len(years) == 2, years
    for bucket in years:
        for role in ("production", "consumption", "grid_import", "grid_export"):
            assert (bucket[role] or 0) > 1000, (bucket["label"], role)


def test_a_second_night_run_goes_on_without_a_reboot_warning(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "gem.db"
    for run in ("first", "second"):
        process, url, password, seen = start_demo(db, night())
        try:
            with signed_in(url, password) as api:
                deadline = time.monotonic() + 20
                while "production_lifetime_wh" not in api.get("/api/attributes/device/1").json():
                    assert time.monotonic() < deadline, f"{run} run: no poll"
                    time.sleep(0.5)
                lifetime = points(api, "production_lifetime_wh", time.time() - 8 * 24 * HOUR)
                imported = points(api, "grid_import_lifetime_wh", time.time() - 8 * 24 * HOUR)
        finally:
            log = stop(process, seen)
        assert "went back" not in log and "reboot" not in log and "Traceback" not in log, log
        values = [v for _, v in lifetime]
        assert values == sorted(values), f"{run} run: the lifetime chart goes back"
        grid = [v for _, v in imported]
        assert grid == sorted(grid), f"{run} run: grid import goes back"
    assert "12 zone(s), one per inverter (0 added now)" in log
    assert "clock runs 12 hours behind" in log
    assert "history of the last" not in log  # restarted at once: no gap to fill, none made

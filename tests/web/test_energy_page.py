"""The energy page in a browser, on a host alone (no simulator): two years of hourly counter
readings written straight into the store; the day, month and year views draw bars, hover and
touch show a bucket's values, the CSV download holds the API's numbers, and a 360 px phone
never scrolls sideways. Screenshots go to build/screenshots/energy-<view>-<size>.png."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.conftest import ADMIN_PASSWORD, ADMIN_USER, SCREENSHOTS, running_host, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ZONE = "Europe/Berlin"
DAYS = 800  # three calendar years in the year view, and last year's month to compare with
COUNTERS = (
    "production_lifetime_wh",
    "consumption_lifetime_wh",
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
)


@dataclass
class Plant:
    url: str
    device_id: int
    api: httpx.Client


def hourly_energy(when: dt.datetime) -> tuple[float, float, float, float]:
    """Wh in the hour before `when` (local): a sun that shines by day and more in summer, a
    home that uses 400-700 Wh an hour; the surplus exported, the shortfall imported."""
    season = 0.6 + 0.4 * math.sin(2 * math.pi * (when.timetuple().tm_yday - 80) / 365)
    sun = max(0.0, math.sin(math.pi * (when.hour - 6) / 12))
    produced = 3000 * season * sun
    used = 400 + 300 * (when.hour in (7, 8, 18, 19, 20))
    return produced, used, max(0.0, used - produced), max(0.0, produced - used)


def seed_counters(db: Path, device_id: int) -> None:
    """Hourly readings of the four lifetime counters over the last DAYS days, at half past
    each hour, as a host that had been polling all along would have kept them."""
    zone = ZoneInfo(ZONE)
    now = dt.datetime.now(dt.UTC).replace(minute=30, second=0, microsecond=0)
    totals = [5_000_000.0, 4_000_000.0, 1_000_000.0, 2_000_000.0]
    rows: list[tuple[str, int, str, float, float]] = []
    for hour in range(DAYS * 24, 0, -1):
        when = now - dt.timedelta(hours=hour)
        for i, wh in enumerate(hourly_energy(when.astimezone(zone))):
            totals[i] += wh
        ts = when.timestamp()
        rows += [
            ("device", device_id, name, ts, round(v))
            for name, v in zip(COUNTERS, totals, strict=True)
        ]
    with closing(sqlite3.connect(db, timeout=10)) as conn, conn:
        conn.executemany(
            "INSERT INTO attribute_history (target_type, target_id, name, ts, value)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    db = tmp_path_factory.mktemp("energy") / "host" / "gem.db"
    with running_host(db) as (url, loop, host), httpx.Client(base_url=url, timeout=30) as api:
        add = host.store.add_device(
            "envoy",
            "enphase_envoy",
            label="Home solar",
            enabled=False,  # nothing to poll: the history is the plant
            attributes={"time_zone": ZONE, "ip": "127.0.0.1"},
        )
        device = asyncio.run_coroutine_threadsafe(add, loop).result(30)
        seed_counters(db, device.id)
        login = api.post("/api/token", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        api.headers["Authorization"] = f"Bearer {login.json()['token']}"
        yield Plant(url, device.id, api)


def shown(page: Page, chart: str = "#energy-main") -> int:
    """How many bars a chart draws, once it has drawn any."""
    page.locator(f"{chart} rect.ebar").first.wait_for(state="attached")
    return page.locator(f"{chart} rect.ebar").count()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    assert size is not None
    path = SCREENSHOTS / f"energy-{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path), full_page=True)


def answer(plant: Plant, query: str) -> dict[str, Any]:
    got = plant.api.get(f"/api/energy/{plant.device_id}?{query}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_day_month_and_year_views_draw_bars_and_the_csv_holds_the_apis_numbers(
    browser: Browser, plant: Plant
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    try:
        page = context.new_page()
        sign_in(page, plant, ADMIN_USER, ADMIN_PASSWORD)
        page.goto(f"{plant.url}/#/energy/days")  # this month, in the plant's zone
        this_month = answer(plant, "period=day")
        page.locator("#energy-period").filter(has_text=str(this_month["from"][:4])).wait_for()
        assert page.locator("#energy-main svg").count() == 1
        # The month before, finished: bars every day, last year's outlined, and the change.
        page.get_by_role("button", name="Previous period").click()
        first = dt.date.fromisoformat(this_month["from"]) - dt.timedelta(days=1)
        page.wait_for_url(f"**/#/energy/days/{first:%Y-%m}")
        days = answer(plant, f"period=day&from={first:%Y-%m}-01&to={first.isoformat()}")
        assert shown(page) == 2 * sum(b["production"] is not None for b in days["buckets"])
        assert page.locator("#energy-grid rect.ebar").count() > 0
        assert page.locator("#energy-main rect.ghost").count() > 0  # the month a year earlier
        change = page.locator(".energy-tile[data-role=production] .tile-note").inner_text()
        assert change.endswith(f"vs {first:%B} {first.year - 1}"), change
        assert page.locator("#energy-storage").count() == 0  # no battery recorded

        page.locator("#energy-main svg").hover(position={"x": 300, "y": 120})
        tip = page.locator("#energy-main .tip")
        tip.wait_for(state="visible")
        assert "Produced" in tip.inner_text() and "Self-sufficiency" in tip.inner_text()
        screenshot(page, "days")

        with page.expect_download() as download:
            page.click("#energy-csv")
        path = download.value.path()
        assert download.value.suggested_filename.startswith("energy-envoy-day-")
        rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
        assert len(rows) == len(days["buckets"]) + 1
        for row, bucket in zip(
            rows, [*days["buckets"], {"label": "total", **days["totals"]}], strict=True
        ):
            assert row["label"] == bucket["label"]
            for role in days["roles"]:
                api_value = bucket[role]
                assert row[f"{role}_wh"] == ("" if api_value is None else _js(api_value))
            for share in ("self_consumption_pct", "self_sufficiency_pct"):
                assert row[share] == ("" if bucket[share] is None else _js(bucket[share]))

        page.goto(f"{plant.url}/#/energy/months")
        page.locator("#energy-period").filter(has_text=str(dt.date.today().year)).wait_for()
        assert shown(page) >= 2
        screenshot(page, "months")

        page.goto(f"{plant.url}/#/energy/years")
        years = answer(plant, "period=year")
        assert len(years["buckets"]) >= 3
        page.locator("#energy-period").filter(has_text=years["buckets"][0]["label"]).wait_for()
        assert shown(page) == 2 * len(years["buckets"])
        screenshot(page, "years")
        # A click on a year opens its months.
        page.locator("#energy-main svg").click(position={"x": 80, "y": 120})
        page.wait_for_url(f"**/#/energy/months/{years['buckets'][0]['label']}")
    finally:
        context.close()


def _js(value: float) -> str:
    """A number as JavaScript's String() writes it (12.0 -> "12")."""
    return str(int(value)) if float(value).is_integer() else repr(value)


@pytest.mark.parametrize("view", ["days", "years"])
def test_a_phone_never_scrolls_sideways_and_a_tap_shows_values(
    browser: Browser, plant: Plant, view: str
) -> None:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, has_touch=True, reduced_motion="reduce"
    )
    try:
        page = context.new_page()
        sign_in(page, plant, ADMIN_USER, ADMIN_PASSWORD)
        page.goto(f"{plant.url}/#/energy/{view}")
        assert shown(page) > 0
        page.locator("#energy-main svg").tap(position={"x": 200, "y": 100})
        page.locator("#energy-main .tip").wait_for(state="visible")
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner
        animation = page.evaluate(
            "getComputedStyle(document.querySelector('#energy-main .plot')).animationName"
        )
        assert animation == "none"
        screenshot(page, view)
    finally:
        context.close()

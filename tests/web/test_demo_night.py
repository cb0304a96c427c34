"""The demo's page at 23:00, in a browser: the notice says the gateway's clock is simulated,
the overview shows solar production, the 24-hour chart is drawn across the day, and the
energy page's year view has the two years of the demo's 400-day past, its CSV the API's
numbers."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.test_demo import start_demo
from tests.test_demo_at_night import night
from tests.web.conftest import SCREENSHOTS, sign_in
from tests.web.test_energy_page import _js

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@dataclass
class Demo:
    url: str
    password: str


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    process, url, password, _ = start_demo(tmp_path / "demo" / "gem.db", night())
    try:
        yield Demo(url, password)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


def test_the_demo_at_night_says_its_clock_is_simulated_and_charts_a_full_day(
    browser: Browser, demo: Demo
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, demo, "admin", demo.password)
        notice = page.locator("#notice")
        notice.wait_for(state="visible")
        assert "simulated gateway's clock runs 12 hours behind" in notice.inner_text()

        page.goto(f"{demo.url}/#/overview")
        # The flow's solar line runs (its arrow shows) only while the panels produce.
        page.locator("#flow .arrow.solar.active").wait_for(timeout=30_000)

        page.goto(f"{demo.url}/#/charts")
        line = page.locator("path.series.s-production")
        line.wait_for(state="attached")
        width = page.evaluate(
            """() => {
              const line = document.querySelector('path.series.s-production');
              return line.getBBox().width / line.ownerSVGElement.viewBox.baseVal.width;
            }"""
        )
        assert width > 0.75, width  # 24 hours of a plot that also holds its axis
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "demo-night-charts-1280x800.png"), full_page=True)

        page.set_viewport_size({"width": 360, "height": 740})  # a small phone: the notice wraps
        page.wait_for_timeout(300)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner
        box = notice.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner
        page.screenshot(path=str(SCREENSHOTS / "demo-night-charts-360x740.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        energy_years_match_the_api(page, demo)
    finally:
        context.close()


def energy_years_match_the_api(page: Page, demo: Demo) -> None:
    """The year view draws production and consumption for both years of the backfill, and
    its CSV holds the API's numbers: exactly for last year; this year's grow while the demo
    polls, so they lie between the API's answers before and after the download."""
    with httpx.Client(base_url=demo.url, timeout=30) as api:
        login = api.post("/api/token", json={"username": "admin", "password": demo.password})
        api.headers["Authorization"] = f"Bearer {login.json()['token']}"
        before = years(api)
        page.goto(f"{demo.url}/#/energy/years")
        page.locator("#energy-period").filter(has_text=before[0]["label"]).wait_for()
        page.locator("#energy-main rect.ebar").first.wait_for(state="attached")
        assert page.locator("#energy-main rect.ebar").count() == 2 * 2
        with page.expect_download() as download:
            page.click("#energy-csv")
        after = years(api)
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["label"] for row in rows] == [b["label"] for b in after] + ["total"]
    roles = ("production", "consumption", "grid_import", "grid_export")
    for role in roles:
        assert rows[0][f"{role}_wh"] == _js(after[0][role]), role
        low, high = before[1][role], after[1][role]
        assert low <= float(rows[1][f"{role}_wh"]) <= high, (role, low, high)
        assert low > 1000, role  # every year has energy both ways
    page.screenshot(path=str(SCREENSHOTS / "demo-energy-years-1280x800.png"), full_page=True)


def years(api: httpx.Client) -> list[dict[str, Any]]:
    answer = api.get("/api/energy/1", params={"period": "year"})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["buckets"]
    assert len(found) == 2, found  # 400 days: last year and this one
    return found

"""The demo's page at 23:00, in a browser: the notice says the gateway's clock is simulated,
the overview shows solar production, and the 24-hour chart is drawn across the day."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_demo import start_demo
from tests.test_demo_at_night import night
from tests.web.conftest import SCREENSHOTS, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser


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
    finally:
        context.close()

"""Every view fits a phone (360x740) and a laptop (1280x800): nothing scrolls sideways (wide
tables scroll inside their own box), every tab of the tab bar is on screen, and the power-flow
card and its words lie inside the viewport. Screenshots of each view at both sizes go to
build/screenshots/layout-<view>-<size>.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import ADMIN_PASSWORD, ADMIN_USER, SCREENSHOTS, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

SIZES: list[ViewportSize] = [{"width": 360, "height": 740}, {"width": 1280, "height": 800}]
# Each view, and what shows that it has drawn its data.
VIEWS = {
    "home": "#status-table tbody tr",
    "overview": "#flow .arrow.solar.active",
    "inverters": "#array .panel[data-status=ok]",
    "charts": "main svg",
    "energy": "#energy-period",
    "admin/devices": "#device-table tbody tr",
    "admin/devices/1": "#f-name",  # the device form, with its zones
    "admin/devices/new": "#f-name",
    "admin/console": "#c-action option",
}

# Elements (by selector) whose boxes stick out of the viewport, left or right.
OUTSIDE = """
(selectors) => {
  const out = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      const box = el.getBoundingClientRect();
      if (!box.width && !box.height) continue;  // not shown
      if (box.left < -0.5 || box.right > innerWidth + 0.5)
        out.push(`${selector}: ${el.textContent.trim().slice(0, 30)} [${box.left}, ${box.right}]`);
    }
  }
  return out;
}
"""

# The flow picture's words outside the picture itself (an SVG clips what lies past its box),
# with the longest words it shows written in: a frozen simulator's battery may be idle.
FLOW_WORDS_CLIPPED = """
() => {
  const svg = document.querySelector("#flow");
  svg.querySelector(".node.battery .detail").textContent = "discharging · 100 %";
  svg.querySelector(".node.battery .value").textContent = "10.00 kW";
  svg.querySelector(".node.solar .detail").textContent = "not producing";
  svg.querySelector(".node.home .detail").textContent = "no consumption meter";
  const frame = svg.getBoundingClientRect();
  return [...svg.querySelectorAll("text")]
    .map((el) => [el.textContent, el.getBoundingClientRect()])
    .filter(([, b]) => b.left < frame.left - 0.5 || b.right > frame.right + 0.5
      || b.top < frame.top - 0.5 || b.bottom > frame.bottom + 0.5)
    .map(([text, b]) => `flow words clipped: ${text} [${b.left}, ${b.right}]`);
}
"""


@pytest.fixture(params=SIZES, ids=lambda size: f"{size['width']}x{size['height']}")
def page(request: pytest.FixtureRequest, browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport=request.param, locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(stack.url + "/")
    page.fill("#signin-user", ADMIN_USER)
    page.fill("#signin-password", ADMIN_PASSWORD)
    page.click("#signin-submit")
    page.locator(".tabs a[data-route=overview]").wait_for()  # the driver's tabs come later
    try:
        yield page
    finally:
        context.close()


def test_no_view_scrolls_sideways_and_nothing_is_clipped(page: Page, stack: Stack) -> None:
    size = page.viewport_size
    assert size is not None
    name = f"{size['width']}x{size['height']}"
    tabs = page.eval_on_selector_all(
        ".tabs a:not([hidden])", "els => els.map(e => e.dataset.route)"
    )
    assert set(tabs) >= {view for view in VIEWS if view.count("/") < 2 and view != "home"}, tabs
    problems: list[str] = []
    for view, drawn in VIEWS.items():
        page.goto(f"{stack.url}/#/{view}")
        page.locator(drawn).first.wait_for(state="attached")
        page.wait_for_timeout(300)  # the tiles' and lines' transitions
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        if scroll > inner:
            problems.append(f"{view} at {name}: scrolls sideways ({scroll} > {inner} px)")
        checked = [".tabs", ".tabs a:not([hidden])", ".topbar-row > *"]
        if view == "overview":
            checked += ["#flow", "#flow text", "#flow circle"]
            checked += ["section:has(> .flow-box)", ".flow-box"]
        problems += [f"{view} at {name}: {p}" for p in page.evaluate(OUTSIDE, checked)]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        file = f"layout-{view.replace('/', '-')}-{name}.png"
        page.screenshot(path=str(SCREENSHOTS / file), full_page=True)
        if view == "overview":  # after the screenshot: this writes the longest words in
            problems += [f"{view} at {name}: {p}" for p in page.evaluate(FLOW_WORDS_CLIPPED)]
    assert not problems, "\n".join(problems)

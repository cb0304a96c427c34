"""The power-flow picture shows which way power moves, not only in words: an arrowhead on each
active line points the way the API's signs say (solar in, home out, export out, charging out),
moving dots run the same way, and with prefers-reduced-motion the dots stop while the arrows
stay. The picture's words stay in its <title>, for screen readers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import pytest

from tests.web.conftest import ADMIN_PASSWORD, ADMIN_USER, SCREENSHOTS, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

IDLE_W = 10  # flow.js: below this a line is idle

# For each arrow: its tip and tail in the picture's coordinates, the hub's centre, whether it
# is shown, and its line's animation.
GEOMETRY = """
() => {
  const svg = document.querySelector("#flow");
  const hub = svg.querySelector(".hub");
  const at = (el, x, y) => {
    const p = svg.createSVGPoint();
    p.x = x; p.y = y;
    return p.matrixTransform(svg.getCTM().inverse().multiply(el.getCTM()));
  };
  const out = {};
  for (const key of ["solar", "home", "grid", "battery"]) {
    const arrow = svg.querySelector(`.arrow.${key}`);
    const line = svg.querySelector(`.line.${key}`);
    const tip = at(arrow, 4, 0), tail = at(arrow, -5, 0);
    const style = getComputedStyle(line);
    out[key] = {
      shown: getComputedStyle(arrow).display !== "none",
      tip: [tip.x, tip.y], tail: [tail.x, tail.y],
      hub: [Number(hub.getAttribute("cx")), Number(hub.getAttribute("cy"))],
      animation: style.animationName, reverse: style.animationDirection === "reverse",
    };
  }
  return out;
}
"""


def open_overview(
    browser: Browser, stack: Stack, motion: Literal["reduce", "no-preference"]
) -> Page:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, reduced_motion=motion, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(stack.url + "/")
    page.fill("#signin-user", ADMIN_USER)
    page.fill("#signin-password", ADMIN_PASSWORD)
    page.click("#signin-submit")
    page.locator("#flow .arrow.solar.active").wait_for()
    return page


@pytest.fixture
def pages(browser: Browser, stack: Stack) -> Iterator[list[Page]]:
    opened: list[Page] = []
    yield opened
    for page in opened:
        page.context.close()


def expected(values: dict[str, Any]) -> dict[str, str | None]:
    """'to-hub', 'from-hub' or None (idle) for each line, from the API's signs."""

    def way(watts: Any, outward: bool) -> str | None:
        if not isinstance(watts, int | float) or abs(watts) < IDLE_W:
            return None
        return "from-hub" if outward else "to-hub"

    net, battery = values.get("net_power_w"), values.get("battery_now_w")
    return {
        "solar": way(values.get("production_now_w"), False),
        "home": way(values.get("consumption_now_w"), True),
        "grid": way(net, isinstance(net, int | float) and net > 0),  # exporting
        "battery": way(battery, isinstance(battery, int | float) and battery < 0),  # charging
    }


def pointing(arrow: dict[str, Any]) -> str:
    def to_hub(point: list[float]) -> float:
        return float(sum((a - b) ** 2 for a, b in zip(point, arrow["hub"], strict=True)))

    return "to-hub" if to_hub(arrow["tip"]) < to_hub(arrow["tail"]) else "from-hub"


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_arrows_point_the_way_power_flows_and_dots_move_unless_motion_is_reduced(
    browser: Browser, stack: Stack, pages: list[Page], motion: Literal["reduce", "no-preference"]
) -> None:
    page = open_overview(browser, stack, motion)
    pages.append(page)
    values = stack.attributes("device", stack.device_id)
    want = expected(values)
    assert want["solar"] == "to-hub" and want["home"] == "from-hub", values
    drawn = page.evaluate(GEOMETRY)
    for key, way in want.items():
        arrow = drawn[key]
        assert arrow["shown"] == (way is not None), (key, arrow, values)
        if way is None:
            continue
        assert pointing(arrow) == way, (key, arrow, values)
        if motion == "reduce":
            assert arrow["animation"] == "none", (key, arrow)
        else:
            # The dots run node -> hub, or hub -> node when reversed: the arrow's way.
            assert arrow["animation"] == "flow", (key, arrow)
            assert arrow["reverse"] == (way == "from-hub"), (key, arrow)
    # The words stay, for screen readers.
    title = page.evaluate("document.querySelector('#flow-title').textContent")
    assert title.startswith("Power flow: Solar ") and "home uses" in title, title
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#flow").screenshot(path=str(SCREENSHOTS / f"flow-{motion}.png"))

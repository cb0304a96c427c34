"""The inverters page agrees with the overview: daylight is the plant's production, each
inverter shows how old its own report is, a panel that produces less than its peers or stopped
reporting is flagged, and reports that lag the plant (every 5 minutes) are waited for, not
judged as 0 W panels.

The judgement (panels.js) is fed plants the simulator does not make (half an array dead at
noon, stale reports at dawn) in the browser; the page itself runs against the real stack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.conftest import ADMIN_PASSWORD, ADMIN_USER, INVERTERS, SCREENSHOTS, Stack, pause

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MODULE = "/drivers/enphase_envoy/panels.js"
NOW_MS = 1_780_000_000_000
MIN_MS = 60_000


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", timezone_id="UTC"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def judge(page: Page, zones: list[dict[str, Any]], plant_w: float | None) -> dict[str, Any]:
    result = page.evaluate(
        "async ([url, zones, plant]) => (await import(url)).judge(zones, plant)",
        [MODULE, zones, plant_w],
    )
    assert isinstance(result, dict)
    return result


def zone(last_w: float | None, max_w: float = 300, minutes_ago: float = 2) -> dict[str, Any]:
    return {"last_w": last_w, "max_w": max_w, "reportMs": NOW_MS - minutes_ago * MIN_MS}


def statuses(verdict: dict[str, Any]) -> list[str]:
    return [panel["status"] for panel in verdict["panels"]]


def test_the_judgement_of_plants_the_simulator_does_not_make(page: Page, stack: Stack) -> None:
    page.goto(stack.url + "/")

    # Half the array dead at noon: the dead half is flagged, not taken for night.
    half = judge(page, [zone(250)] * 4 + [zone(0)] * 4, 1060)
    assert half["daylight"] and statuses(half) == ["ok"] * 4 + ["under"] * 4

    # Most of the array dead: the few that produce are the reference, the rest are flagged.
    most = judge(page, [zone(250)] * 3 + [zone(0)] * 9, 760)
    assert statuses(most) == ["ok"] * 3 + ["under"] * 9

    # Dawn, or zones just added: the reports (every 5 minutes) still say 0 W while the plant
    # makes 2.9 kW. Nobody is judged; each waits for its next report.
    dawn = judge(page, [zone(0, minutes_ago=4)] * 12, 2900)
    assert dawn["lagging"] and statuses(dawn) == ["waiting"] * 12

    # One stopped reporting (40 minutes behind its peers), with a stale but normal figure.
    stopped = judge(page, [zone(250)] * 7 + [zone(250, minutes_ago=42)], 2000)
    assert statuses(stopped) == ["ok"] * 7 + ["silent"]

    # Panels of different sizes are judged by their own best; a weak one stands out.
    sizes = judge(page, [zone(200, 240), zone(300, 360), zone(150, 360), zone(210, 250)], 900)
    assert statuses(sizes) == ["ok", "ok", "under", "ok"]

    # Night is the plant's: inverters reporting 15 W each while the plant makes 1.06 kW is a
    # morning whose reports lag, not "no sun".
    morning = judge(page, [zone(15, 300)] * 12, 1060)
    assert morning["daylight"] and statuses(morning) == ["waiting"] * 12
    night = judge(page, [zone(0, minutes_ago=300)] * 12, 0)
    assert not night["daylight"] and statuses(night) == ["idle"] * 12


def test_the_page_shows_report_ages_and_flags_an_inverter_that_stopped_reporting(
    page: Page, stack: Stack
) -> None:
    page.goto(stack.url + "/")
    page.fill("#signin-user", ADMIN_USER)
    page.fill("#signin-password", ADMIN_PASSWORD)
    page.click("#signin-submit")
    page.locator("#app").wait_for(state="visible")
    page.goto(stack.url + "/#/inverters")
    tiles = page.locator("#array .panel")
    page.wait_for_function(
        "n => document.querySelectorAll('#array .panel[data-status=ok]').length >= n - 1",
        arg=INVERTERS,
    )
    # Every tile and row says when its inverter last reported (the simulator: within 5 min).
    ages = page.locator("#array .panel .page").all_inner_texts()
    assert len(ages) == INVERTERS and all(a == "just now" or "ago" in a for a in ages), ages
    assert all("min ago" not in a or int(a.split()[0]) <= 10 for a in ages), ages
    assert page.locator("#inverter-table td[data-attr=last_report_time]").count() == INVERTERS
    plant_w = stack.attributes("device", stack.device_id)["production_now_w"]
    summary = page.inner_text("#inverter-summary")
    assert "plant" in summary and "no sun" not in summary, (summary, plant_w)

    # One inverter stops reporting: its last report falls 40 minutes behind the others'.
    # Polling is paused, so that the next inverter list does not put the real one back.
    first = stack.zone_ids[0]
    pause(stack, enabled=False)
    try:
        reported = stack.attributes("zone", first)["last_report_time"]
        then = dt.datetime.fromisoformat(reported.replace("Z", "+00:00"))
        stale = (then - dt.timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
        stack.call(stack.host.store.set_attributes("zone", first, {"last_report_time": stale}))
        page.reload()
        silent = page.locator(f"#array .panel[data-zone='{first}']")
        silent.and_(page.locator("[data-status=silent]")).wait_for()
        assert "stopped reporting" in silent.inner_text()
        assert "1 stopped reporting" in page.inner_text("#inverter-summary")
        assert "Inverter 1 stopped reporting" in page.inner_text("#inverter-notice")
        assert tiles.count() == INVERTERS
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "inverters-stopped.png"), full_page=True)
    finally:
        stack.call(stack.host.store.set_attributes("zone", first, {"last_report_time": reported}))
        pause(stack, enabled=True)

"""The overview at a live feed's pace: beside the power flow, where its values come from
("Live · meter stream", "Live · livedata", "Polled every 5 s") and their age, ticking and
marked stale after three polling intervals; values that change without a reload; and the
per-phase table, three rows on a three-phase site, two on split-phase, none on single-phase,
inside a 360 px phone.

No simulator here: a host with one paused device, whose attributes the tests report through
the host's own sink, as the driver does, so each change reaches the page through
/api/events the way a live sample would."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from gem_envoy.host.sink import StoreSink
from gem_envoy.host.types import AttributeValue
from gem_envoy.host.watchers import Watchers
from tests.web.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    POLL_MS,
    SCREENSHOTS,
    running_host,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PHASED = ("production_now_w", "consumption_now_w", "net_power_w")
FLOW = {"production_now_w": 3200, "consumption_now_w": 900, "net_power_w": 2300}


@dataclass
class Plant:
    """The host, and a way to report device attributes as the driver would."""

    url: str
    loop: asyncio.AbstractEventLoop
    sink: StoreSink
    device_id: int
    watchers: Watchers

    def report(self, values: dict[str, AttributeValue | None]) -> None:
        """Store and publish `values` (None removes one), as a driver's report does."""
        future = asyncio.run_coroutine_threadsafe(self.sink.device_attributes(values), self.loop)
        future.result(10)

    def phases(self, *phases: str) -> None:
        """Per-phase values on `phases` (l1..l3) and none on the others; l2 imports."""
        values: dict[str, AttributeValue | None] = {}
        for phase in ("l1", "l2", "l3"):
            on = phase in phases
            importing = phase == "l2"
            values |= {
                f"production_now_w_{phase}": 12_345 if on else None,
                f"consumption_now_w_{phase}": 11_000 if on else None,
                f"net_power_w_{phase}": (-10_500 if importing else 1_345) if on else None,
            }
        self.report(values)


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    db: Path = tmp_path_factory.mktemp("live") / "gem.db"
    with running_host(db) as (url, loop, host):
        device_id = _paused_device(url)
        sink = StoreSink(host.store, device_id, host.events)
        host.supervisor.watchers.grace_s = 0.0  # the host's minute of grace, not waited for
        yield Plant(url, loop, sink, device_id, host.supervisor.watchers)


def _admin_headers(api: httpx.Client) -> dict[str, str]:
    login = api.post("/api/token", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _delete_device(url: str, device_id: int) -> None:
    with httpx.Client(base_url=url, timeout=10) as api:
        gone = api.delete(f"/api/data/devices/{device_id}", headers=_admin_headers(api))
        assert gone.status_code in (200, 204), gone.text


def _paused_device(url: str, name: str = "envoy") -> int:
    """The device the overview shows, disabled so that no driver reports over the tests'."""
    with httpx.Client(base_url=url, timeout=10) as api:
        answer = api.post(
            "/api/data/devices",
            headers=_admin_headers(api),
            json={
                "name": name,
                "driver": "enphase_envoy",
                "label": "Home solar",
                "enabled": False,
                "attributes": {"ip": "127.0.0.1", "polling_interval": POLL_MS},
            },
        )
        assert answer.status_code == 201, answer.text
        device_id = answer.json()["id"]
        assert isinstance(device_id, int)
        return device_id


@pytest.fixture
def page(browser: Browser, plant: Plant, request: pytest.FixtureRequest) -> Iterator[Page]:
    width = getattr(request, "param", 1280)
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    # A clock the test can move forward: staleness takes three polling intervals.
    page.clock.install()
    yield page
    context.close()


def age_s(page: Page) -> float:
    text = page.locator("#live-age").inner_text()
    match = re.fullmatch(r"updated ([\d.]+) s ago", text)
    assert match, text
    return float(match[1])


def test_source_and_age_follow_the_feed_and_values_change_without_reload(
    plant: Plant, page: Page
) -> None:
    plant.phases()  # a single-phase site
    plant.report({**FLOW, "live_source": "stream", "live": True})
    sign_in(page, plant, ADMIN_USER, ADMIN_PASSWORD)
    solar = page.locator("#flow .value[data-attr=production_now_w]")
    source = page.locator("#live-source")
    solar.filter(has_text="3.20 kW").wait_for()
    assert source.inner_text() == "Live · meter stream"
    assert page.locator("#phases").is_hidden()

    # The age ticks on its own, in tenths of a second (the page's ticks are 0.2 s apart,
    # so 1.5 s holds at least 7 ticks; each shown age is rounded to a tenth).
    first = age_s(page)
    page.clock.run_for(1500)
    moved = round(age_s(page) - first, 1)  # 2.3 - 1.0 is 1.2999... in floating point
    assert moved >= 1.3, (first, page.locator("#live-age").inner_text())

    # A new sample: on the page without a reload, and the age starts again.
    page.evaluate("window.reloaded = false")
    before = age_s(page)
    plant.report({"production_now_w": 4100})
    solar.filter(has_text="4.10 kW").wait_for()
    assert age_s(page) < before
    title = page.locator("#flow-title").text_content() or ""
    assert "Solar 4.10 kW" in title, title  # the words for screen readers follow too

    plant.report({"live_source": "livedata"})
    source.filter(has_text="Live · livedata").wait_for()
    # Idle until the host counts this page as a watcher: the poll serves meanwhile.
    plant.report({"live_source": "poll", "live_state": "idle"})
    source.filter(has_text="Live · starting").wait_for()
    plant.report({"live_state": "active"})
    source.filter(has_text="Polled every 5 s").wait_for()

    # Three polling intervals (15 s) without a value: said, and the flow dimmed.
    card = page.locator("section.flow")
    assert "stale" not in (card.get_attribute("class") or "")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / "live-polled-1280.png"))
    page.clock.fast_forward(16_000)
    page.locator("section.flow.stale").wait_for()
    stale = page.locator("#live-age").inner_text()
    assert re.fullmatch(r"no new values for 1\d s", stale), stale
    card.screenshot(path=str(SCREENSHOTS / "live-stale-1280.png"))
    plant.report({"production_now_w": 4000})
    page.locator("section.flow:not(.stale)").wait_for()
    assert page.evaluate("window.reloaded") is False  # the same page all along


@pytest.mark.parametrize("page", [360], indirect=True)
def test_phase_table_has_a_row_per_phase_and_fits_a_phone(plant: Plant, page: Page) -> None:
    plant.report({**FLOW, "live_source": "stream"})
    plant.phases("l1", "l2", "l3")
    sign_in(page, plant, ADMIN_USER, ADMIN_PASSWORD)
    rows = page.locator("#phases tbody tr:visible")
    page.locator("#phases").wait_for()
    assert rows.count() == 3
    l2 = page.locator("#phases tr[data-phase=l2]")
    assert l2.locator("th").inner_text() == "L2"
    assert l2.locator(".direction").inner_text() == "import"
    assert page.locator("#phases tr[data-phase=l1] .direction").inner_text() == "export"
    assert l2.locator("[data-attr=net_power_w_l2]").inner_text() == "10.5 kW"

    # The widest values there are, on a 360 px phone: nothing scrolls sideways.
    sticking_out = page.evaluate(
        """() => [document.documentElement.scrollWidth - innerWidth,
                  document.querySelector("#phases").getBoundingClientRect().right - innerWidth]"""
    )
    assert max(sticking_out) <= 0.5, sticking_out
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.flow").screenshot(path=str(SCREENSHOTS / "live-phases-360.png"))

    plant.phases("l1", "l2")  # split-phase
    page.locator("#phases tr[data-phase=l3]").wait_for(state="hidden")
    assert rows.count() == 2
    plant.phases()  # single-phase
    page.locator("#phases").wait_for(state="hidden")


def _set_hidden(page: Page, hidden: bool) -> None:
    """The tab hidden (another tab in front, a minimised window) or shown again."""
    page.evaluate(
        """(hidden) => {
            Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_hidden_tab_stops_watching_and_reads_again_when_shown(plant: Plant, page: Page) -> None:
    plant.report({**FLOW, "live_source": "stream", "live_state": "active", "live": True})
    sign_in(page, plant, ADMIN_USER, ADMIN_PASSWORD)
    page.locator("#live[data-state=open]").wait_for()
    _until(lambda: plant.watchers.watched(plant.device_id), "watched while the page is shown")
    _set_hidden(page, True)
    _until(lambda: not plant.watchers.watched(plant.device_id), "not watched while hidden")
    plant.report({"production_now_w": 4440})  # not pushed to a hidden page
    _set_hidden(page, False)
    page.locator("#flow .value[data-attr=production_now_w]").filter(has_text="4.44 kW").wait_for()
    # The fresh read may land before the reopened event stream reaches the host.
    page.locator("#live[data-state=open]").wait_for()
    _until(lambda: plant.watchers.watched(plant.device_id), "watched again once shown")


def test_a_device_page_watches_only_its_device_and_the_list_all(plant: Plant, page: Page) -> None:
    other = _paused_device(plant.url, "other")
    try:
        sign_in(page, plant, ADMIN_USER, ADMIN_PASSWORD)  # lands on the first device's page
        page.locator("#live[data-state=open]").wait_for()
        _until(lambda: plant.watchers.watched(plant.device_id), "the shown device is watched")
        assert not plant.watchers.watched(other)  # its gateway's live source stays off
        page.goto(f"{plant.url}/#/home")  # the landing page lists every device
        _until(lambda: plant.watchers.watched(other), "every device watched from the list")
        assert plant.watchers.watched(plant.device_id)
    finally:
        _delete_device(plant.url, other)

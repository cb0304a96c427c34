"""The web page in headless Chromium against a real host and simulator: sign-in, the numbers
against the API's, live updates without a reload, roles, and the device token kept out of
everything the browser receives. Screenshots go to build/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gem_envoy.drivers.enphase_envoy.driver import EnphaseEnvoyDriver
from gem_envoy.host.contract import Discovered
from tests.web.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    INVERTERS,
    PLAIN_PASSWORD,
    PLAIN_USER,
    POLL_MS,
    SCREENSHOTS,
    WEAK,
    Stack,
    eventually,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response, ViewportSize

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

# Every value the overview shows, and how its text is written.
POWER = ("production_now_w", "consumption_now_w", "net_power_w", "battery_now_w")
ENERGY = (
    "production_today_wh", "consumption_today_wh", "production_lifetime_wh",
    "consumption_lifetime_wh", "battery_capacity_wh",
)  # fmt: skip
EXACT = (
    "battery_soc_percent", "inverter_count", "serial_number", "token_type", "token_expires_at",
    "last_poll_ms", "online",
)  # fmt: skip
QUANTITY = re.compile(r"(\d+(?:\.\d+)?)\s*(MWh|kWh|Wh|MW|kW|W|%)")
SCALE = {"W": 1.0, "kW": 1e3, "MW": 1e6, "Wh": 1.0, "kWh": 1e3, "MWh": 1e6, "%": 1.0}

# The page records what its event stream delivered, to check it for the token too.
RECORD_EVENTS = """
(() => {
  const Original = window.EventSource;
  window.__events = [];
  window.EventSource = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("attributes", (e) => window.__events.push(e.data));
    }
  };
})();
"""


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Script errors fail the test. The browser's own notes on refused requests (the wrong
    # password, the refused command) are expected and not the page's fault.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def shown(page: Page) -> dict[str, tuple[str | None, str]]:
    """attribute name -> (raw value, text) of every element that shows one."""
    rows = page.eval_on_selector_all(
        "main [data-attr]",
        "els => els.map(e => [e.dataset.attr, e.dataset.raw ?? null, e.textContent.trim()])",
    )
    return {name: (raw, text) for name, raw, text in rows}


def same(raw: str | None, value: Any) -> bool:
    """Whether the page's data-raw (JS String()) is the API's JSON value."""
    if raw is None:
        return value is None
    if isinstance(value, bool):
        return raw == ("true" if value else "false")
    if isinstance(value, int | float):
        return float(raw) == float(value)
    return raw == str(value)


def quantity(text: str) -> tuple[float, float]:
    """The value of "3.21 kW" in base units, and half of its last shown digit."""
    found = QUANTITY.search(text)
    assert found, f"no quantity in {text!r}"
    number, unit = found.groups()
    decimals = len(number.partition(".")[2])
    return float(number) * SCALE[unit], 0.5 * 10**-decimals * SCALE[unit]


def mismatches(page: Page, api: dict[str, Any]) -> list[str]:
    """What the overview shows differently from the API's values."""
    seen = shown(page)
    wrong = []
    for name in (*POWER, *ENERGY, *EXACT):
        raw, text = seen.get(name, (None, ""))
        if not same(raw, api.get(name)):
            wrong.append(f"{name}: page {raw!r}, API {api.get(name)!r}")
        elif name in POWER or name in ENERGY:
            value, tolerance = quantity(text)
            if abs(value - abs(api[name])) > tolerance + 1e-9:
                wrong.append(f"{name}: page shows {text!r} for {api[name]!r}")
    return wrong


def agrees_with_api(page: Page, stack: Stack, timeout_s: float = 3.0) -> None:
    """The page shows the API's values at one moment: API read, page read, API read, and
    the two API reads equal (no poll in between). Retried briefly, because the event that
    carries a poll reaches the page a moment after the store has it."""
    deadline = time.monotonic() + timeout_s
    while True:
        before = stack.attributes("device", stack.device_id)
        wrong = mismatches(page, before)
        after = stack.attributes("device", stack.device_id)
        if not wrong and before == after:
            return
        assert time.monotonic() < deadline, wrong
        time.sleep(0.2)


def wait_for_values(page: Page) -> None:
    page.wait_for_function(
        "() => ['production_now_w', 'production_today_wh', 'last_poll_ms', 'online']"
        ".every(n => document.querySelector(`main [data-attr=${n}][data-raw]`))"
    )


def wait_text(page: Page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent.trim() === text",
        arg=[selector, text],
    )


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the flow lines and tiles finish their transition
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


# -- tests ----------------------------------------------------------------------------------


def test_sign_in_then_the_overview_shows_the_apis_numbers(
    browser: Browser, page: Page, stack: Stack
) -> None:
    page.goto(stack.url + "/")
    page.fill("#signin-user", ADMIN_USER)
    page.fill("#signin-password", "not-the-password")
    page.click("#signin-submit")
    page.locator("#signin-message").wait_for()
    assert page.locator("#signin-message").inner_text() == "Wrong username or password."
    assert page.locator("#app").is_hidden()

    page.fill("#signin-password", ADMIN_PASSWORD)
    page.click("#signin-submit")
    page.locator("#app").wait_for(state="visible")
    assert page.locator("#whoami").inner_text() == f"{ADMIN_USER} · admin"
    wait_for_values(page)
    agrees_with_api(page, stack)

    api = stack.attributes("device", stack.device_id)
    assert page.locator("[data-attr=online]").inner_text() == "Online"
    assert page.locator("[data-attr=last_error]").inner_text() == "None"
    flow = page.locator("#flow-title").text_content() or ""
    assert "exporting" in flow or "importing" in flow, flow
    assert api["battery_state"] in (
        page.locator("[data-attr=battery_soc_percent]").text_content() or ""
    )
    assert page.locator("#token-alert").is_hidden()  # the simulator's token lasts a year
    assert page.locator("#token-badge").inner_text().endswith("days left")
    screenshot(page, "overview.png")

    # The session survives a reload (sessionStorage), and the phone layout holds together.
    page.set_viewport_size(PHONE)
    page.reload()
    wait_for_values(page)
    agrees_with_api(page, stack)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width} px)"
    screenshot(page, "overview-phone.png")


def test_the_inverter_view_matches_the_api_and_shows_the_weak_panel(
    browser: Browser, page: Page, stack: Stack
) -> None:
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    page.goto(stack.url + "/#/inverters")
    rows = page.locator("#inverter-table tbody tr")
    page.wait_for_function(
        "n => document.querySelectorAll('#inverter-table td[data-attr=last_w][data-raw]')"
        ".length === n",
        arg=INVERTERS,
    )
    zones = {z: stack.attributes("zone", z) for z in stack.zone_ids}
    for index in range(rows.count()):
        row = rows.nth(index)
        zone = zones[int(row.get_attribute("data-zone") or 0)]
        for name in ("last_w", "max_w"):
            cell = row.locator(f"td[data-attr={name}]")
            assert same(cell.get_attribute("data-raw"), zone[name]), (name, zone)
            value, tolerance = quantity(cell.inner_text())
            assert abs(value - zone[name]) <= tolerance

    # The one weak inverter stands out in the array, and only it.
    weak_zone = stack.zone_ids[WEAK]
    statuses = {
        int(tile.get_attribute("data-zone") or 0): tile.get_attribute("data-status")
        for tile in page.locator("#array .panel").all()
    }
    assert statuses[weak_zone] == "under", statuses
    assert all(s == "ok" for z, s in statuses.items() if z != weak_zone), statuses
    assert "1 under-producing" in page.locator("#inverter-summary").inner_text()
    assert page.inner_text("#inverter-notice").startswith(
        f"Inverter {WEAK + 1} produces well below"
    )

    # Sorting by output, highest first, then lowest first.
    page.click("#inverter-table th[data-key=last_w] button")
    header = page.locator("#inverter-table th[data-key=last_w]")
    assert header.get_attribute("aria-sort") == "descending"
    highest = max(zones.values(), key=lambda z: z["last_w"])["last_w"]
    assert rows.first.locator("td[data-attr=last_w]").get_attribute("data-raw") == str(highest)
    page.click("#inverter-table th[data-key=last_w] button")
    assert header.get_attribute("aria-sort") == "ascending"
    assert rows.first.get_attribute("data-zone") == str(weak_zone)
    screenshot(page, "inverters.png")


def test_charts_draw_the_history_with_labelled_axes(
    browser: Browser, page: Page, stack: Stack
) -> None:
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    page.goto(stack.url + "/#/charts")
    page.wait_for_selector(".chart svg path.series.s-production", state="attached")
    titles = page.eval_on_selector_all(".chart .axis-title", "els => els.map(e => e.textContent)")
    assert "Power (kW)" in titles and "Charge (%)" in titles and "Local time" in titles
    for cls in ("production", "consumption", "net", "battery", "soc"):
        assert page.locator(f".chart path.series.s-{cls}").count() >= 1, cls
    # A day of history, edge to edge: the line starts near the left of the plot.
    first_x = page.evaluate(
        "() => parseFloat(document.querySelector('.chart path.series.s-production')"
        ".getAttribute('d').slice(1))"
    )
    assert first_x < 100, first_x
    # The values under the pointer, with units.
    box = page.locator(".chart svg").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    tip = page.locator(".chart .tip").first
    tip.wait_for()
    assert "Solar production:" in tip.inner_text() and re.search(r"\d (k?W)", tip.inner_text())
    screenshot(page, "charts.png")
    page.click("text=7 days")
    page.wait_for_url("**/#/charts/7d")
    page.wait_for_selector(".chart svg path.series.s-production", state="attached")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "charts-phone.png")


def test_a_simulator_change_reaches_the_page_without_a_reload(
    browser: Browser, page: Page, stack: Stack
) -> None:
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    wait_for_values(page)
    page.locator("#live[data-state=open]").wait_for()
    agrees_with_api(page, stack)
    before = stack.attributes("device", stack.device_id)
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded

    stack.sim.plant(sun=0.05, load_w=2600)  # a cloud, and the kettle and oven on
    changed = time.monotonic()
    try:
        page.wait_for_function(
            "old => document.querySelector('main [data-attr=production_now_w]')"
            ".dataset.raw !== old",
            arg=str(before["production_now_w"]),
            timeout=2 * POLL_MS + 2000,
        )
        took = time.monotonic() - changed
        assert took <= 2 * POLL_MS / 1000, f"the change took {took:.1f} s to show"
        agrees_with_api(page, stack)
        after = stack.attributes("device", stack.device_id)
        assert after["production_now_w"] < before["production_now_w"] / 4
        assert after["consumption_now_w"] > before["consumption_now_w"]
        assert page.evaluate("window.__sameDocument") is True
    finally:
        stack.sim.plant(sun=None, load_w=None)


def set_device_token(stack: Stack, token: str) -> None:
    answer = stack.admin.put(f"/api/attributes/device/{stack.device_id}", json={"token": token})
    assert answer.status_code == 200, answer.text


def test_token_expiry_and_failures_are_shown_in_plain_words(
    browser: Browser, page: Page, stack: Stack
) -> None:
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    wait_for_values(page)
    original = stack.device_token
    try:
        # A token with ten days left: a warning, with what to do about it.
        set_device_token(stack, stack.sim.mint("installer", lifetime_s=10 * 86400))
        page.locator("#token-alert.warn").wait_for()
        warning = page.inner_text("#token-alert")
        assert "expires in 10 days" in warning and "Ask your installer" in warning, warning
        wait_text(page, "#token-badge", "10 days left")
        api = stack.attributes("device", stack.device_id)
        assert same(
            page.get_attribute("[data-attr=token_expires_at]", "data-raw"), api["token_expires_at"]
        )

        # An expired token: the gateway refuses it; the page says so, in the driver's words.
        set_device_token(stack, stack.sim.mint("installer", lifetime_s=-60))
        page.locator("main [data-attr=online][data-raw=false]").wait_for()
        assert page.inner_text("[data-attr=online]").startswith("Offline since ")
        error = stack.attributes("device", stack.device_id)["last_error"]
        assert "auth rejected (401)" in error
        wait_text(page, "main [data-attr=last_error]", error)
    finally:
        set_device_token(stack, original)
        eventually(lambda: stack.attributes("device", stack.device_id)["online"] is True, 15)
    page.locator("main [data-attr=online][data-raw=true]").wait_for()
    assert page.locator("#token-alert").is_hidden()


def test_admin_adds_a_device_and_zones_and_the_token_never_reaches_the_browser(
    browser: Browser, page: Page, stack: Stack
) -> None:
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.add_init_script(RECORD_EVENTS)
    pages_html: list[str] = []
    token = stack.device_token

    sign_in(page, stack, ADMIN_USER, ADMIN_PASSWORD)
    wait_for_values(page)
    pages_html.append(page.content())

    # Add a second gateway through the form, token pasted in.
    page.click("nav a[data-route='admin/devices']")
    page.locator("#device-table tr[data-device]").first.wait_for()
    assert "null" not in page.inner_text("main") and "undefined" not in page.inner_text("main")
    page.click("#add-device")
    page.locator("#a-token").wait_for()
    page.fill("#f-name", "garage")
    page.fill("#f-label", "Garage roof")
    page.fill("#a-ip", stack.sim.host)
    page.fill("#a-port", str(stack.sim.port))
    page.fill("#a-token", token)
    page.fill("#a-polling_interval", "30000")
    page.click("#device-form button[type=submit]")
    page.wait_for_url(re.compile(r".*#/admin/devices/\d+$"))
    garage = int(page.url.rsplit("/", 1)[1])
    wait_text(page, "#a-token-state", "set")
    assert page.input_value("#a-token") == ""  # write-only: never filled back in
    pages_html.append(page.content())

    # Its zones in one click, from the driver's own inverters page, the new gateway picked.
    page.select_option("#device-select", str(garage))
    page.click("nav a[data-route=inverters]")
    page.click("#add-zones")
    page.locator("#zones-message.ok").wait_for()
    assert page.locator("#zones-message").inner_text().startswith(f"Added {INVERTERS} zones")
    zones = stack.admin.get(f"/api/data/zones?device={garage}").json()
    assert len(zones) == INVERTERS
    # All of them get their values at the next poll, not one now and the rest in 5 minutes.
    eventually(
        lambda: all("last_w" in stack.attributes("zone", z["id"]) for z in zones),
        10,
        "every new zone has a value",
    )
    page.wait_for_function(
        "n => document.querySelectorAll('#inverter-table td[data-attr=last_w][data-raw]')"
        ".length === n",
        arg=INVERTERS,
    )
    page.click("#add-zones")  # a second click adds nothing twice
    page.locator("#zones-message.ok", has_text="already have a zone").wait_for()
    assert len(stack.admin.get(f"/api/data/zones?device={garage}").json()) == INVERTERS
    stored = stack.admin.get(f"/api/attributes/device/{garage}").json()
    assert stored["polling_interval"] == 30_000 and stored["token"] == "********"

    # The device's page lists the zones with the values their driver charts.
    page.goto(f"{stack.url}/#/admin/devices/{garage}")
    page.wait_for_function(
        "n => [...document.querySelectorAll('#zone-table td[data-attr=last_w]')]"
        ".filter(td => td.dataset.raw).length === n",
        arg=INVERTERS,
    )
    screenshot(page, "admin-device.png")

    # Editing keeps the token unless a new one is pasted.
    wait_text(page, "#a-token-state", "set")
    page.fill("#f-label", "Garage")
    page.click("#device-form button[type=submit]")
    page.locator("#device-message.ok").wait_for()
    assert stack.admin.get(f"/api/data/devices/{garage}").json()["label"] == "Garage"
    command = stack.admin.post(
        "/api/control/command", json={"device": garage, "action": "get_info"}
    )
    assert command.status_code == 200, command.text  # its token still works
    pages_html.append(page.content())

    # The console runs a command and shows its JSON.
    page.click("nav a[data-route='admin/console']")
    page.locator("#c-action option[value=get_info]").wait_for(state="attached")
    page.select_option("#c-device", str(stack.device_id))
    page.select_option("#c-action", "get_info")
    page.click("#c-run")
    page.locator("#c-status.ok").wait_for()
    assert '"serial"' in page.inner_text("#c-output")
    page.select_option("#c-action", "set_storage_mode")
    page.fill("#c-args", '{"mode": "turbo"}')
    page.click("#c-run")
    page.locator("#c-status.bad").wait_for()
    assert "400" in page.inner_text("#c-status")
    assert "mode must be self-consumption, backup or economy" in page.inner_text("#c-output")
    screenshot(page, "console.png")
    pages_html.append(page.content())

    page.click("nav a[data-route=inverters]")
    page.locator("#inverter-table td[data-attr=last_w][data-raw]").first.wait_for()
    pages_html.append(page.content())
    page.click("nav a[data-route=charts]")
    page.locator(".chart path.series").first.wait_for(state="attached")
    pages_html.append(page.content())

    # Delete the second gateway from its page (confirming the dialog).
    page.goto(f"{stack.url}/#/admin/devices/{garage}")
    # The form is filled from the API after it is drawn: a click before that may land on a
    # button the refill replaces, and no dialog comes.
    filled_by = time.monotonic() + 15
    while page.input_value("#f-name") != "garage":
        assert time.monotonic() < filled_by, "the device form was never filled"
        time.sleep(0.05)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Delete device")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # the fixtures import it

    try:
        page.wait_for_url("**/#/admin/devices")
    except PlaywrightTimeout:
        shown = page.locator("#device-message").inner_text()
        raise AssertionError(f"the device page did not go back to the list: {shown!r}") from None
    assert stack.admin.get(f"/api/data/devices/{garage}").status_code == 404

    bodies = [r.body() for r in responses if "/api/events" not in r.url]
    events = page.evaluate("window.__events")
    assert len(bodies) > 20 and events, "the walk-through saw too little to prove anything"
    signature = token.rsplit(".", 1)[-1]
    for needle in (token, signature):
        assert not any(needle.encode() in body for body in bodies)
        assert not any(needle in html for html in pages_html)
        assert not any(needle in event for event in events)
        assert needle not in page.content()
    # Nothing came from anywhere but the host.
    assert all(r.url.startswith(stack.url) for r in responses), {r.url for r in responses}


def test_the_device_form_is_the_drivers_declaration(
    browser: Browser, page: Page, stack: Stack
) -> None:
    info = stack.admin.get("/api/drivers/enphase_envoy").json()
    specs = info["required"] + info["optional"]
    sign_in(page, stack, ADMIN_USER, ADMIN_PASSWORD)
    page.goto(stack.url + "/#/admin/devices/new")
    page.locator("#attribute-fields [data-attribute]").first.wait_for()

    # A field for each attribute the driver takes, in its order, and no other.
    fields = page.eval_on_selector_all(
        "#attribute-fields [data-attribute]", "els => els.map(e => e.dataset.attribute)"
    )
    assert fields == [spec["name"] for spec in specs]
    assert page.get_attribute("#a-token", "type") == "password"
    for spec in specs:
        field = f"#a-{spec['name']}"
        numeric = spec["type"] in ("int", "float")
        kind = "number" if numeric else "password" if spec["secure"] else "text"
        assert (page.get_attribute(field, "type") or "text") == kind, spec
        if spec["minimum"] is not None:
            assert page.get_attribute(field, "min") == str(spec["minimum"]), spec
        if spec["type"] == "bool":
            # A choice of default, true or false; the default named in the first option.
            shown = page.locator(f"{field} option").first.inner_text()
            want = "not set" if spec["default"] is None else f"default ({spec['default']!s})"
            assert shown == want.lower(), (shown, spec)
        elif spec["default"] is not None:
            assert page.get_attribute(field, "placeholder") == str(spec["default"]), spec
        hint = page.inner_text(f"[data-attribute={spec['name']}] .hint")
        assert hint.startswith(spec["description"]), (hint, spec)

    # The page refuses what the driver would refuse, saying which attribute is wrong.
    page.fill("#f-name", "attic")
    page.uncheck("#f-enabled")  # not polled: only the form is under test
    page.click("#device-form button[type=submit]")
    wait_text(page, "#device-message", "ip is required.")
    page.fill("#a-ip", stack.sim.host)
    page.fill("#a-token", stack.device_token)
    page.fill("#a-polling_interval", "1000")
    page.click("#device-form button[type=submit]")
    wait_text(page, "#device-message", "polling_interval must be at least 5000.")
    page.fill("#a-polling_interval", "6000")
    page.fill("#a-port", str(stack.sim.port))
    page.click("#device-form button[type=submit]")
    page.wait_for_url(re.compile(r".*#/admin/devices/\d+$"))

    # The device is the API's, with the attributes typed in (and the token kept secret).
    attic = next(d for d in stack.admin.get("/api/data/devices").json() if d["name"] == "attic")
    try:
        assert attic["driver"] == "enphase_envoy" and attic["enabled"] is False
        assert stack.attributes("device", attic["id"]) == {
            "ip": stack.sim.host,
            "port": stack.sim.port,
            "token": "********",
            "polling_interval": 6000,
        }
        wait_text(page, "#a-token-state", "set")
        assert page.input_value("#a-token") == ""
        assert page.input_value("#a-polling_interval") == "6000"
        assert stack.device_token not in page.content()
    finally:
        stack.admin.delete(f"/api/data/devices/{attic['id']}")


def test_a_plain_user_sees_no_admin_pages(browser: Browser, page: Page, stack: Stack) -> None:
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    assert page.locator("#whoami").inner_text() == f"{PLAIN_USER} · user"
    assert page.locator("nav a[data-admin]").count() == 2
    assert all(not link.is_visible() for link in page.locator("nav a[data-admin]").all())
    for route in (
        "admin/devices",
        "admin/devices/new",
        f"admin/devices/{stack.device_id}",
        "admin/console",
    ):
        page.goto(f"{stack.url}/#/{route}")
        page.locator("#not-allowed").wait_for()
        for admin_only in ("#device-form", "#device-table", "#console-form", "#add-zones"):
            assert page.locator(admin_only).count() == 0, (route, admin_only)
    # The host's own start page lists the devices with the status the host records.
    page.goto(f"{stack.url}/#/home")
    row = page.locator(f"#status-table tr[data-device='{stack.device_id}']")
    row.locator("td[data-attr=online]", has_text="online").wait_for()
    # The driver's inverters page offers its admin button to admins only.
    page.goto(f"{stack.url}/#/inverters")
    page.locator("#inverter-table td[data-attr=last_w][data-raw]").first.wait_for()
    assert page.locator("#add-zones").count() == 0
    # Signing out ends the session on the host too, not only in the tab.
    token = page.evaluate("sessionStorage.getItem('gem-envoy.token')")
    page.click("#signout")
    page.locator("#signin").wait_for()
    assert page.evaluate("sessionStorage.getItem('gem-envoy.token')") is None
    revoked = httpx.get(f"{stack.url}/api/session", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
    # And the API says no as well, whatever a page might try.
    with httpx.Client(base_url=stack.url) as client:
        login = client.post("/api/token", json={"username": PLAIN_USER, "password": PLAIN_PASSWORD})
        bearer = {"Authorization": f"Bearer {login.json()['token']}"}
        refused = client.post(
            "/api/data/devices", json={"name": "x", "driver": "enphase_envoy"}, headers=bearer
        )
        assert refused.status_code == 403


def test_the_add_device_form_offers_the_gateways_found_on_the_network(
    browser: Browser, page: Page, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = "122300000099"
    found = Discovered(
        f"IQ Gateway {serial} at 198.18.0.9, firmware 8.2.4382",
        {"ip": "198.18.0.9", "serial_number": serial},
    )

    async def announced(cls: type[EnphaseEnvoyDriver], timeout_s: float) -> tuple[Discovered, ...]:
        return (found,)

    # The driver's own mDNS lookup runs on real multicast in tests/test_discovery_multicast.py,
    # inside a network namespace; from here no query may leave for the LAN.
    monkeypatch.setattr(EnphaseEnvoyDriver, "discover", classmethod(announced))
    sign_in(page, stack, ADMIN_USER, ADMIN_PASSWORD)
    page.goto(stack.url + "/#/admin/devices/new")
    page.locator("#a-ip").wait_for()
    page.click("#discover")
    page.click(f"#discovered button:has-text('{serial}')")
    page.wait_for_function("document.querySelector('#a-ip').value === '198.18.0.9'")
    assert page.input_value("#a-serial_number") == serial
    assert page.input_value("#f-driver") == "enphase_envoy"
    assert page.input_value("#f-name") == ""  # naming it stays the admin's
    screenshot(page, "add-device-discovered.png")

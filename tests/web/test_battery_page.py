"""The overview's battery settings card in headless Chromium against a real host and simulator:
an admin changes a setting only after a confirmation that says what will change, and sees the
verified result or the error; a plain user sees the settings read-only, and the API refuses a
write from the page (403). The simulator's counters show which of them reached the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from gem_envoy.host.sink import StoreSink
from tests.web.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    PLAIN_PASSWORD,
    PLAIN_USER,
    SCREENSHOTS,
    Stack,
    eventually,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TARIFF = "/admin/lib/tariff"
PAGE_ERRORS_IGNORED = "Failed to load resource"  # the browser's note on a refused request


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 1000}, locale="en-GB", timezone_id="UTC"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}")
            if message.type == "error" and PAGE_ERRORS_IGNORED not in message.text
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def puts(stack: Stack) -> int:
    """The battery settings writes the gateway has received."""
    return stack.sim.stats()["by_method"].get("PUT", {}).get(TARIFF, 0)


def shown_mode(page: Page, mode: str) -> None:
    page.locator(f"#battery-card [data-attr=storage_mode][data-raw='{mode}']").wait_for()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_an_admin_changes_a_setting_after_confirming_it_and_sees_it_verified(
    page: Page, stack: Stack
) -> None:
    sign_in(page, stack, ADMIN_USER, ADMIN_PASSWORD)
    shown_mode(page, "self-consumption")
    written = puts(stack)
    try:
        page.select_option("#storage-mode-select", "backup")
        page.click("#storage-mode-change")
        page.locator("#battery-confirm").wait_for()
        changes = page.inner_text("#battery-confirm-changes")
        assert "Mode: Self-consumption → Full backup" in changes
        assert "stops covering the home" in page.inner_text("#battery-confirm")
        assert puts(stack) == written  # the confirmation came from a dry run: nothing sent
        screenshot(page, "battery-confirm.png")

        page.click("#battery-confirm-yes")
        page.locator("#battery-outcome", has_text="Verified").wait_for()
        assert "mode Full backup" in page.inner_text("#battery-outcome")
        shown_mode(page, "backup")
        assert puts(stack) == written + 1
        assert stack.attributes("device", stack.device_id)["storage_mode"] == "backup"
        screenshot(page, "battery-verified.png")

        # Cancelled: nothing is written.
        page.fill("#reserve-input", "35")
        page.click("#reserve-change")
        page.locator("#battery-confirm-changes", has_text="Reserve: 20 % → 35 %").wait_for()
        page.click("#battery-confirm-no")
        page.locator("#battery-outcome", has_text="Nothing was changed").wait_for()
        assert page.locator("#battery-confirm").is_hidden()

        # Refused: the driver's own words, and nothing is written.
        page.fill("#reserve-input", "5")
        page.click("#reserve-change")
        page.locator("#battery-outcome.error-text", has_text="very_low_soc").wait_for()
        assert page.locator("#battery-confirm").is_hidden()
        assert puts(stack) == written + 1
    finally:
        restored = stack.admin.post(
            "/api/control/command",
            json={
                "device": stack.device_id,
                "action": "set_storage_mode",
                "mode": "self-consumption",
            },
        )
        assert restored.status_code == 200, restored.text


def test_a_user_sees_the_settings_read_only_and_a_write_is_refused(
    page: Page, stack: Stack
) -> None:
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    shown_mode(page, "self-consumption")
    page.locator("#battery-card [data-attr=battery_reserve_soc_percent][data-raw]").wait_for()
    assert page.locator("#battery-readonly").is_visible()
    for control in ("#storage-mode-select", "#reserve-input", "#grid-charge-toggle"):
        assert page.locator(control).count() == 0, control
    written = puts(stack)
    # Whatever a page tries with a user's session, the API refuses the write.
    status = page.evaluate(
        """async (device) => {
            const token = sessionStorage.getItem("gem-envoy.token");
            const reply = await fetch("/api/control/command", {
                method: "POST",
                headers: {"Content-Type": "application/json", Authorization: `Bearer ${token}`},
                body: JSON.stringify({device, action: "set_storage_mode", mode: "backup"}),
            });
            return reply.status;
        }""",
        stack.device_id,
    )
    assert status == 403
    eventually(lambda: puts(stack) == written, 1, "no write reached the gateway")
    screenshot(page, "battery-readonly.png")


def test_a_revert_reported_by_the_driver_is_shown_on_the_card(page: Page, stack: Stack) -> None:
    # What the driver reports when its watch sees the gateway change a setting back (the
    # watch itself runs against the simulator's cloud in tests/test_battery_control.py).
    sink = StoreSink(stack.host.store, stack.device_id, stack.host.events)
    warning = (
        "storage mode was changed back to self-consumption by the gateway (cloud overwrite?), "
        "within 1 min of being set here"
    )
    sign_in(page, stack, PLAIN_USER, PLAIN_PASSWORD)
    shown_mode(page, "self-consumption")
    assert page.locator("#storage-warning").is_hidden()
    try:
        stack.call(sink.device_attributes({"storage_warning": warning}))
        page.locator("#storage-warning", has_text="cloud overwrite?").wait_for()
        screenshot(page, "battery-warning.png")
    finally:
        stack.call(sink.device_attributes({"storage_warning": None}))
    page.locator("#storage-warning").wait_for(state="hidden")

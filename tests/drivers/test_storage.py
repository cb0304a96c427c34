"""Battery settings writes by the driver, on real captures served from memory: one field
changed and everything else sent back as read, verified, refused when they cannot be right
(with nothing sent), dry runs, and the watch for a cloud that changes them back.

The same over HTTPS through `gem-envoy command` is in tests/test_battery_cli.py; in a host
with its API, roles and a synthetic battery, in tests/test_battery_control.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from gem_envoy.drivers.enphase_envoy.commands import run_command
from gem_envoy.drivers.enphase_envoy.poller import GatewayPoller
from gem_envoy.drivers.enphase_envoy.storage import StorageControl
from gem_envoy.envoy.client import EnvoyClient
from gem_envoy.envoy.transport_protocol import Response
from gem_envoy.host.contract import CommandRefused, DeviceError
from gem_envoy.sim.capture_transport import CaptureTransport
from gem_envoy.sim.tariff import TariffDocument
from tests.battery import changed_fields, writes_changing
from tests.captures import battery_settings_folders, capture_transport, storage_settings
from tests.drivers.test_driver import config, driver_on
from tests.fakes import RecordingSink

TARIFF = "/admin/lib/tariff"
WITH_ENCHARGE = battery_settings_folders(encharge=True) or ["(no captures)"]
WITHOUT_ENCHARGE = battery_settings_folders(encharge=False) or ["(no captures)"]
SPLIT = "8.2.127_with_3cts_and_battery_split"  # Encharges; reserve 20 (an int), very_low 10
OPT_SCHEDULES = "8.2.4382_ACB"  # one Encharge; opt_schedules true
LEGACY = "7.3.517_legacy_savings_mode"  # mode "savings-mode"
NO_ENCHARGE = "8.3.5169_with_generator"  # storage settings, an empty ENCHARGE group


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def methods(transport: CaptureTransport, path: str = TARIFF) -> tuple[int, int]:
    """(GETs, PUTs) of `path` served so far."""
    counts = transport.stats.by_method
    return counts.get("GET", Counter())[path], counts.get("PUT", Counter())[path]


def served_tariff(transport: CaptureTransport) -> dict[str, Any]:
    document = transport.source.tariff
    assert isinstance(document, TariffDocument)
    return json.loads(json.dumps(document.tariff))  # type: ignore[no-any-return]


async def polled_driver(transport: CaptureTransport, sink: RecordingSink | None = None) -> Any:
    driver = driver_on(transport, config(transport.mint("installer")), sink or RecordingSink())
    await driver.connect()
    await driver.poll()
    return driver


@pytest.mark.parametrize("folder", WITH_ENCHARGE)
async def test_each_write_changes_its_field_and_sends_everything_else_back(folder: str) -> None:
    transport, sink = capture_transport(folder), RecordingSink()
    original = storage_settings(folder)
    assert original is not None
    driver = await polled_driver(transport, sink)
    assert sink.device["storage_mode"] in ("self-consumption", "backup", "economy")
    before = served_tariff(transport)
    for write in writes_changing(original):
        gets, puts = methods(transport)
        answer = await driver.command(write.action, write.args, None)
        after = served_tariff(transport)
        expected = {f"storage_settings.{write.key}": write.value}
        if write.key == "mode" and before["storage_settings"].get("opt_schedules") is True:
            expected["storage_settings.opt_schedules"] = False  # or the mode is ignored
        assert changed_fields(before, after) == expected
        assert methods(transport) == (gets + 2, puts + 1)  # read, write, read back
        assert answer["verified"] is True
        assert answer["storage_settings"] == after["storage_settings"]
        before = after
    await driver.disconnect()
    # What the device now shows is what the gateway holds.
    assert sink.device["charge_from_grid"] is not original.get("charge_from_grid")
    assert sink.device["battery_reserve_soc_percent"] == float(
        after["storage_settings"]["reserved_soc"]
    )


async def test_a_whole_number_reserve_stays_a_whole_number() -> None:
    transport = capture_transport(SPLIT)
    driver = await polled_driver(transport)
    await driver.command("set_reserve_soc", {"percent": "30"}, None)
    reserve = served_tariff(transport)["storage_settings"]["reserved_soc"]
    assert reserve == 30 and isinstance(reserve, int)


async def test_with_opt_schedules_true_a_mode_write_also_turns_it_off_and_says_so() -> None:
    transport = capture_transport(OPT_SCHEDULES)
    driver = await polled_driver(transport)
    answer = await driver.command("set_storage_mode", {"mode": "backup"}, None)
    settings = served_tariff(transport)["storage_settings"]
    assert settings["mode"] == "backup" and settings["opt_schedules"] is False
    assert answer["changed"]["opt_schedules"] == {"from": True, "to": False}
    assert any("opt_schedules" in note for note in answer["notes"])


async def test_economy_is_written_in_the_spelling_this_gateway_uses() -> None:
    transport = capture_transport(LEGACY)
    driver = await polled_driver(transport)
    gets, puts = methods(transport)
    same = await driver.command("set_storage_mode", {"mode": "savings"}, None)
    assert same["changed"] == {} and methods(transport) == (gets + 1, puts)  # holds it already
    await driver.command("set_storage_mode", {"mode": "backup"}, None)
    await driver.command("set_storage_mode", {"mode": "economy"}, None)
    assert served_tariff(transport)["storage_settings"]["mode"] == "savings-mode"


async def test_a_dry_run_answers_the_exact_body_and_sends_nothing() -> None:
    transport = capture_transport(SPLIT)
    driver = await polled_driver(transport)
    gets, puts = methods(transport)
    dry = await driver.command("set_charge_from_grid", {"enabled": True, "dry_run": True}, None)
    assert methods(transport) == (gets + 1, puts)  # read fresh, nothing written
    assert dry["sent"] is False and dry["method"] == "PUT" and dry["path"] == TARIFF
    assert dry["changed"] == {"charge_from_grid": {"from": False, "to": True}}
    await driver.command("set_charge_from_grid", {"enabled": "true"}, None)
    assert dry["body"] == {"tariff": served_tariff(transport)}  # what the write then sent


@pytest.mark.parametrize(
    ("action", "args", "reason"),
    [
        ("set_storage_mode", {"mode": "turbo"}, "mode must be self-consumption, backup or economy"),
        ("set_storage_mode", {}, "mode must be"),
        ("set_reserve_soc", {"percent": "150"}, "percent must be a number from 0 to 100"),
        ("set_reserve_soc", {"percent": "NaN"}, "percent must be a number from 0 to 100"),
        ("set_reserve_soc", {"percent": "5"}, "very_low_soc = 10 %"),
        ("set_charge_from_grid", {"enabled": "maybe"}, "enabled must be true or false"),
        ("set_charge_from_grid", {}, "give enabled=true or enabled=false"),
        ("set_storage_mode", {"mode": "backup", "dry_run": "perhaps"}, "dry_run must be true"),
        ("set_storage_mode", {"mode": "backup", "force": "1"}, "unexpected argument(s) force"),
    ],
)
async def test_bad_values_are_refused_before_anything_is_sent(
    action: str, args: dict[str, str], reason: str
) -> None:
    transport = capture_transport(SPLIT)
    driver = await polled_driver(transport)
    served = dict(transport.requests)
    with pytest.raises(CommandRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        await driver.command(action, args, None)
    assert transport.requests == served


@pytest.mark.parametrize("folder", WITHOUT_ENCHARGE)
async def test_without_an_encharge_writes_are_refused_before_anything_is_sent(folder: str) -> None:
    transport, sink = capture_transport(folder), RecordingSink()
    driver = await polled_driver(transport, sink)
    assert "storage_mode" not in sink.device  # absent without an Encharge
    served = dict(transport.requests)
    with pytest.raises(CommandRefused, match=r"no Encharge battery.*No write was sent"):
        await driver.command("set_storage_mode", {"mode": "backup"}, None)
    assert transport.requests == served


class Misbehaving(CaptureTransport):
    """A capture whose tariff answers as `tariff_answer` says, and whose PUTs can be held
    (`hold`), ignored (answered 200 and dropped) or refused with a status."""

    tariff_answer: Response | None = None
    hold: asyncio.Event | None = None
    ignore_puts = False
    refuse_put: Response | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.put_started = asyncio.Event()

    async def get(self, path: str, headers: Mapping[str, str]) -> Response:
        if path == TARIFF and self.tariff_answer is not None:
            self.stats.request_started(path, "GET")
            return self.tariff_answer
        return await super().get(path, headers)

    async def put(self, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        self.put_started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.ignore_puts or self.refuse_put is not None:
            self.stats.request_started(path, "PUT")
            return self.refuse_put or Response(200, b"{}", "application/json", ())
        return await super().put(path, headers, body)


def misbehaving(folder: str) -> Misbehaving:
    plain = capture_transport(folder)  # skips when the captures are absent
    return Misbehaving(plain.source.folder)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (Response(200, b"<html><body>Envoy</body></html>", "text/html", ()), "an HTML page"),
        (Response(401, b"Error: 401", "text/plain", ()), r"auth rejected \(401\)"),
    ],
)
async def test_a_gateway_that_gave_no_tariff_is_refused_without_a_request(
    answer: Response, why: str
) -> None:
    transport, sink = misbehaving(SPLIT), RecordingSink()
    transport.tariff_answer = answer
    driver = await polled_driver(transport, sink)
    assert "storage_mode" not in sink.device and "battery_now_w" in sink.device
    served = dict(transport.requests)
    with pytest.raises(CommandRefused, match=f"did not give its tariff.*{why}"):
        await driver.command("set_reserve_soc", {"percent": "30"}, None)
    assert transport.requests == served


async def test_a_second_write_while_one_runs_is_refused() -> None:
    transport = misbehaving(SPLIT)
    driver = await polled_driver(transport)
    transport.hold = asyncio.Event()
    first = asyncio.create_task(driver.command("set_storage_mode", {"mode": "backup"}, None))
    await transport.put_started.wait()  # the first write is under way
    with pytest.raises(CommandRefused, match="another battery settings write"):
        await driver.command("set_reserve_soc", {"percent": "30"}, None)
    transport.hold.set()
    assert (await first)["verified"] is True
    assert methods(transport)[1] == 1
    assert (await driver.command("set_reserve_soc", {"percent": "30"}, None))["verified"]


async def test_a_write_the_gateway_does_not_keep_is_an_error() -> None:
    transport = misbehaving(SPLIT)
    transport.ignore_puts = True
    driver = await polled_driver(transport)
    with pytest.raises(DeviceError, match=r"does not hold it: mode is self-consumption, not"):
        await driver.command("set_storage_mode", {"mode": "backup"}, None)


async def test_a_refused_write_quotes_the_gateway_and_says_what_it_holds() -> None:
    transport = misbehaving(SPLIT)
    refusal = json.dumps({"status": 400, "error": "bad storage settings"}).encode()
    transport.refuse_put = Response(400, refusal, "application/json", ())
    driver = await polled_driver(transport)
    with pytest.raises(
        DeviceError, match=r"refused the write .*HTTP 400.*bad storage settings"
    ) as e:
        await driver.command("set_storage_mode", {"mode": "backup"}, None)
    assert "the gateway did not take it (mode is self-consumption, not backup)" in e.value.message


async def test_get_storage_settings_reads_fresh() -> None:
    transport = capture_transport(SPLIT)
    driver = await polled_driver(transport)
    gets, puts = methods(transport)
    answer = await driver.command("get_storage_settings", {}, None)
    assert methods(transport) == (gets + 1, puts)
    assert answer["mode"] == "self-consumption"
    assert answer["storage_settings"] == storage_settings(SPLIT)


async def test_a_cloud_revert_is_reported_once_at_the_pollers_pace_and_never_fought(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport, clock = capture_transport(SPLIT), Clock()
    client = EnvoyClient(transport, transport.mint("installer"))
    control = StorageControl("envoy", clock=clock)
    poller = GatewayPoller(client, clock=clock, storage=control)
    await poller.connect()
    assert (await poller.cycle()).device["storage_mode"] == "self-consumption"
    clock.now = 10
    transport.source.revert_delay = lambda: 0.01  # the cloud undoes the write at once
    await run_command(client, "set_storage_mode", {"mode": "backup"}, control)
    await asyncio.sleep(0.05)
    assert served_tariff(transport)["storage_settings"]["mode"] == "self-consumption"

    clock.now = 30  # the tariff is not due yet: nothing read, nothing known
    first = await poller.cycle()
    assert first.device["storage_mode"] == "backup" and "storage_warning" not in first.device
    caplog.set_level(logging.WARNING)
    gets = methods(transport)[0]
    reports = []
    for now in (60, 65, 120, 180, 240):
        clock.now = now
        reports.append((await poller.cycle()).device)
    assert methods(transport) == (gets + 4, 1)  # once a minute, and one write in all
    warning = reports[0]["storage_warning"]
    assert isinstance(warning, str)
    assert warning.startswith(
        "storage mode was changed back to self-consumption by the gateway (cloud overwrite?)"
    )
    assert all(r["storage_warning"] == warning for r in reports)
    assert all(r["storage_mode"] == "self-consumption" for r in reports)
    assert caplog.text.count("changed back") == 1

    # A new write starts afresh: the old warning goes.
    transport.source.revert_delay = None
    await run_command(client, "set_storage_mode", {"mode": "backup"}, control)
    clock.now = 300
    assert "storage_warning" not in (await poller.cycle()).device


async def test_a_change_after_three_minutes_is_not_a_revert() -> None:
    transport, clock = capture_transport(SPLIT), Clock()
    client = EnvoyClient(transport, transport.mint("installer"))
    control = StorageControl("envoy", clock=clock)
    poller = GatewayPoller(client, clock=clock, storage=control)
    await poller.connect()
    await poller.cycle()
    await run_command(client, "set_reserve_soc", {"percent": "40"}, control)
    clock.now = 200  # someone else sets it, well after the write
    await run_command(client, "set_reserve_soc", {"percent": "50"}, StorageControl())
    result = await poller.cycle()
    assert "storage_warning" not in result.device
    assert result.device["battery_reserve_soc_percent"] == 50.0

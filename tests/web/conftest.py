"""A real stack for the page: `gem-envoy simulate` as a process, a host serving the API and the
page on 127.0.0.1 (in a thread of its own, so tests can drive a browser synchronously), and
headless Chromium through Playwright.

Browser tests skip, saying why, when there is no Chromium binary or no Playwright; `.ci/run`
installs Debian's `chromium` and sets GEM_ENVOY_REQUIRE_BROWSER=1, which turns the skip into
a failure there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
import pytest

from gem_envoy.drivers import DRIVERS
from gem_envoy.host.service import Host, bound_port, serving
from gem_envoy.host.users import ADMIN, USER
from gem_envoy.sim.plant import Plant, PlantConfig
from tests.simulator import SimProcess, simulator

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

T = TypeVar("T")

ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-password-1"
PLAIN_USER, PLAIN_PASSWORD = "alice", "alice-password-1"
POLL_MS = 5000  # the driver's floor: the fastest a test can make the host poll
INVERTERS = 8
WEAK = 5  # index of the simulated inverter that produces only 60 %
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TELEMETRY = (
    "production_now_w", "production_today_wh", "production_lifetime_wh", "consumption_now_w",
    "consumption_today_wh", "consumption_lifetime_wh", "net_power_w", "inverter_count",
    "battery_now_w", "battery_soc_percent", "battery_capacity_wh", "battery_state",
)  # fmt: skip


@dataclass
class Stack:
    """The simulator, the host, and an admin API client, with the demo device set up."""

    sim: SimProcess
    url: str
    loop: asyncio.AbstractEventLoop
    host: Host
    admin: httpx.Client = field(init=False)
    device_id: int = 0
    zone_ids: list[int] = field(default_factory=list)

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        """Runs a coroutine on the host's own loop and waits for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    @property
    def device_token(self) -> str:
        return self.sim.token_file.read_text().strip()

    def attributes(self, target: str, target_id: int) -> dict[str, Any]:
        answer = self.admin.get(f"/api/attributes/{target}/{target_id}")
        answer.raise_for_status()
        value = answer.json()
        assert isinstance(value, dict)
        return value


class Served(Protocol):
    """What sign_in needs of a stack: the page's address (a Stack, or a host alone)."""

    url: str


def sign_in(page: Page, stack: Served, user: str, password: str) -> None:
    """Sign in through the page's own form and wait for the app to show."""
    page.goto(stack.url + "/")
    page.fill("#signin-user", user)
    page.fill("#signin-password", password)
    page.click("#signin-submit")
    page.locator("#app").wait_for(state="visible")


def plant_noon_offset_hours(now: float | None = None) -> float:
    """A plant time zone in which it is about 12:30 now, so the simulated sun is high
    whenever the tests run (times shown on the page stay the real ones)."""
    utc = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    hours = utc.hour + utc.minute / 60
    return round(((12.5 - hours + 12) % 24) - 12, 2)


def eventually(check: Callable[[], object], timeout_s: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout_s} s: {what}")
        time.sleep(0.2)


@contextmanager
def running_host(db: Path) -> Iterator[tuple[str, asyncio.AbstractEventLoop, Host]]:
    """A host with an admin and a plain user, serving on a free port, in its own thread."""
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[tuple[str, Host, asyncio.Event]] = (
        concurrent.futures.Future()
    )

    async def main() -> None:
        try:
            host = await Host.open(db, DRIVERS)
        except BaseException as exc:
            started.set_exception(exc)
            raise
        try:
            await host.store.add_user(ADMIN_USER, ADMIN_PASSWORD, ADMIN)
            await host.store.add_user(PLAIN_USER, PLAIN_PASSWORD, USER)
            async with serving(host, "127.0.0.1", 0) as server:
                stop = asyncio.Event()
                started.set_result((f"http://127.0.0.1:{bound_port(server)}", host, stop))
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise
        finally:
            await host.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    url, host, stop = started.result(timeout=30)
    try:
        yield url, loop, host
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=20)
        loop.close()


def _set_up_device(stack: Stack) -> None:
    """The envoy device and one zone per inverter, the way an installer does it: the API."""
    answer = stack.admin.post(
        "/api/data/devices",
        json={
            "name": "envoy",
            "driver": "enphase_envoy",
            "label": "Home solar",
            "attributes": {
                "ip": stack.sim.host,
                "port": stack.sim.port,
                "token": stack.device_token,
                "polling_interval": POLL_MS,
            },
        },
    )
    assert answer.status_code == 201, answer.text
    stack.device_id = answer.json()["id"]
    inverters = stack.admin.post(
        "/api/control/command", json={"device": stack.device_id, "action": "get_inverters"}
    )
    assert inverters.status_code == 200, inverters.text
    # Zones are added with polling paused, as the page's admin does: a running driver reads
    # the inverter list once per 5 minutes, so zones added one by one to a running device
    # would wait that long for their first values.
    pause(stack, enabled=False)
    for number, serial in enumerate(inverters.json()["serials"], start=1):
        zone = stack.admin.post(
            "/api/data/zones",
            json={"device": stack.device_id, "name": f"Inverter {number}", "address": serial},
        )
        assert zone.status_code == 201, zone.text
        stack.zone_ids.append(zone.json()["id"])
    pause(stack, enabled=True)

    def populated() -> bool:
        device = stack.attributes("device", stack.device_id)
        zones = [stack.attributes("zone", z) for z in stack.zone_ids]
        return all(n in device for n in TELEMETRY) and all("last_w" in z for z in zones)

    eventually(
        populated,
        30,
        f"the device and its zones have values: {stack.attributes('device', stack.device_id)}",
    )


def seed_history(db: Path, device_id: int, utc_offset_h: float, days: float = 7.0) -> int:
    """The past week of the device's charted values, as a host that had been polling all
    along would have recorded them (every 5 minutes here), from the simulator's own plant
    physics. Written straight into the history table: the store only records "now"."""
    config = PlantConfig(
        inverters=INVERTERS,
        battery=True,
        weak_inverter=WEAK,
        utc_offset_s=round(utc_offset_h * 3600),
    )
    capacity_wh = config.unit_capacity_wh * config.battery_units
    now = time.time()
    t = now - days * 86400
    plant = Plant(config, t)
    rows: list[tuple[str, int, str, float, float]] = []
    while t < now - 60:
        plant.advance_to(t)
        snap = plant.snapshot()
        values = {
            "production_now_w": round(snap.solar_w),
            "consumption_now_w": round(snap.load_w),
            "net_power_w": round(-snap.grid_w),  # positive = export
            "battery_now_w": round(sum(snap.battery_w)),  # positive = discharging
            "battery_soc_percent": round(100 * sum(snap.soc_wh) / capacity_wh, 1),
        }
        rows += [("device", device_id, name, t, value) for name, value in values.items()]
        t += 300
    with closing(sqlite3.connect(db, timeout=10)) as conn, conn:
        conn.executemany(
            "INSERT INTO attribute_history (target_type, target_id, name, ts, value)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def pause(stack: Stack, *, enabled: bool) -> None:
    answer = stack.admin.put(f"/api/data/devices/{stack.device_id}", json={"enabled": enabled})
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("web")
    offset = plant_noon_offset_hours()
    sim_args = [
        "--battery", "--inverters", str(INVERTERS), "--weak-inverter", str(WEAK),
        # A frozen plant: the page and the API must agree exactly, poll after poll.
        "--speed", "0", "--utc-offset", str(offset),
        # A year, not an installer token's 12 hours (the simulator's default): the page warns
        # of a token that expires within 30 days, which only the tests that ask for it expect.
        "--token-lifetime", str(365 * 86400),
    ]  # fmt: skip
    db = tmp / "host" / "gem.db"
    with (
        simulator(tmp, sim_args) as sim,
        running_host(db) as (url, loop, host),
        httpx.Client(base_url=url, timeout=30) as admin,
    ):
        stack = Stack(sim, url, loop, host)
        login = admin.post("/api/token", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        admin.headers["Authorization"] = f"Bearer {login.json()['token']}"
        stack.admin = admin
        _set_up_device(stack)
        seed_history(db, stack.device_id, offset)
        yield stack


def chromium_binary() -> str | None:
    configured = os.environ.get("GEM_ENVOY_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("GEM_ENVOY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium_binary()
    if binary is None:
        _unavailable("no chromium binary (apt-get install chromium; .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        # launch() gives every run a fresh, throw-away profile directory.
        browser = playwright.chromium.launch(
            executable_path=binary, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()

"""The drivers' routes: names, what each driver declares (attributes, commands, pages), and
the drivers' own page files served beside the host's page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from gem_envoy.host.api import create_app
from gem_envoy.host.contract import (
    AttributeSpec,
    CommandSpec,
    Driver,
    DriverMetadata,
    DriverPage,
    DriverWeb,
    Json,
    ZoneConfig,
)
from gem_envoy.host.service import Host as Service
from gem_envoy.host.users import USER
from gem_envoy.host.web import CSP, driver_mounts

from .conftest import FakeDriver, Host

PAGE_JS = "export function mount(main) { main.textContent = 'meter page'; }\n"


class MeterDriver(Driver):
    """A driver with a secret, a floor, a writing command and a page of its own."""

    name: ClassVar[str] = "meter"
    directory: ClassVar[Path]  # set by the fixture: a folder of tmp_path

    @classmethod
    def metadata(cls) -> DriverMetadata:
        return DriverMetadata(
            device_type="power_meter",
            required=(
                AttributeSpec("host", "str", "Meter address."),
                AttributeSpec("api_password", "str", "The meter's password."),
            ),
            optional=(
                AttributeSpec("interval_ms", "int", "Poll interval (ms).", 30_000, minimum=5000),
            ),
            runtime=(AttributeSpec("power_w", "int", "Power now.", history=True),),
            zone=(AttributeSpec("phase_w", "float", "Power of one phase.", history=True),),
            # A careless author's real secret: the API must not hand it out.
            sample_config={"host": "10.0.0.9", "api_password": "hunter2-real"},
            status="beta",
        )

    @classmethod
    def commands(cls) -> tuple[CommandSpec, ...]:
        return (
            CommandSpec("read", (), "reads the meter"),
            CommandSpec("reset", ("counter",), "zeroes a counter", writes=True),
        )

    @classmethod
    def web(cls) -> DriverWeb | None:
        return DriverWeb(cls.directory, (DriverPage("meter", "Meter", "page.js"),))

    def poll_interval_s(self) -> float:
        return 30.0

    async def connect(self) -> None:
        pass

    async def poll(self) -> None:
        pass

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        return None

    async def disconnect(self) -> None:
        pass


@pytest.fixture
async def meter_host(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A host with the fake driver and the meter driver, signed in as a plain user."""
    pages = tmp_path / "meter-web"
    (pages / "parts").mkdir(parents=True)
    (pages / "page.js").write_text(PAGE_JS)
    (pages / "parts" / "style.css").write_text("main { color: red; }\n")
    MeterDriver.directory = pages
    service = await Service.open(
        tmp_path / "gem.db", {"meter": MeterDriver, "fake": FakeDriver}, polling=False
    )
    try:
        await service.supervisor.start()  # stores the command tables; there are no devices
        context = service.api_context()
        token, _ = context.sessions.create("alice", USER)
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://host",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client
    finally:
        await service.close()


async def test_driver_names_stay_a_sorted_list(meter_host: httpx.AsyncClient) -> None:
    assert (await meter_host.get("/api/drivers")).json() == ["fake", "meter"]


async def test_a_driver_answers_its_metadata_commands_and_pages(
    meter_host: httpx.AsyncClient,
) -> None:
    answer = await meter_host.get("/api/drivers/meter")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "name": "meter",
        "device_type": "power_meter",
        "status": "beta",
        "required": [
            {
                "name": "host",
                "type": "str",
                "description": "Meter address.",
                "default": None,
                "history": False,
                "minimum": None,
                "secure": False,
                "energy": None,
            },
            {
                "name": "api_password",
                "type": "str",
                "description": "The meter's password.",
                "default": None,
                "history": False,
                "minimum": None,
                "secure": True,
                "energy": None,
            },
        ],
        "optional": [
            {
                "name": "interval_ms",
                "type": "int",
                "description": "Poll interval (ms).",
                "default": 30000,
                "history": False,
                "minimum": 5000,
                "secure": False,
                "energy": None,
            }
        ],
        "runtime": [
            {
                "name": "power_w",
                "type": "int",
                "description": "Power now.",
                "default": None,
                "history": True,
                "minimum": None,
                "secure": False,
                "energy": None,
            }
        ],
        "zone": [
            {
                "name": "phase_w",
                "type": "float",
                "description": "Power of one phase.",
                "default": None,
                "history": True,
                "minimum": None,
                "secure": False,
                "energy": None,
            }
        ],
        "sample_config": {"host": "10.0.0.9", "api_password": "********"},
        "commands": [
            {"name": "read", "args": [], "notes": "reads the meter", "writes": False},
            {"name": "reset", "args": ["counter"], "notes": "zeroes a counter", "writes": True},
        ],
        "pages": [{"route": "meter", "title": "Meter", "module": "/drivers/meter/page.js"}],
    }
    assert "hunter2-real" not in answer.text


async def test_a_driver_without_pages_has_none(meter_host: httpx.AsyncClient) -> None:
    fake = (await meter_host.get("/api/drivers/fake")).json()
    assert fake["pages"] == [] and fake["device_type"] == "fake"
    assert [c["name"] for c in fake["commands"]] == [c.name for c in FakeDriver.commands()]


async def test_an_unknown_driver_is_404_with_an_error(meter_host: httpx.AsyncClient) -> None:
    for url in ("/api/drivers/nope", "/api/drivers/nope/commands"):
        answer = await meter_host.get(url)
        assert answer.status_code == 404, url
        assert answer.json() == {"error": "there is no driver named 'nope'"}


async def test_the_command_table_route_still_answers(meter_host: httpx.AsyncClient) -> None:
    rows = (await meter_host.get("/api/drivers/meter/commands")).json()
    assert rows == [
        {"name": "read", "args": [], "notes": "reads the meter"},
        {"name": "reset", "args": ["counter"], "notes": "zeroes a counter"},
    ]


async def test_driver_routes_need_a_session(host: Host) -> None:
    for url in ("/api/drivers", "/api/drivers/fake", "/api/drivers/fake/commands"):
        assert (await host.anon.get(url)).status_code == 401, url
        assert (await host.user.get(url)).status_code == 200, url


async def test_a_drivers_page_files_are_served_with_the_pages_policy(
    meter_host: httpx.AsyncClient,
) -> None:
    module = await meter_host.get("/drivers/meter/page.js", headers={"Authorization": ""})
    assert module.status_code == 200  # public like the host's own files: they hold no data
    assert module.text == PAGE_JS
    assert "javascript" in module.headers["content-type"]
    assert module.headers["content-security-policy"] == CSP
    assert module.headers["x-content-type-options"] == "nosniff"
    style = await meter_host.get("/drivers/meter/parts/style.css")
    assert style.status_code == 200 and "text/css" in style.headers["content-type"]
    # Files only: no listing, nothing outside the folder, nothing for a driver without pages.
    for url in (
        "/drivers/meter/",
        "/drivers/meter/parts/",
        "/drivers/meter/missing.js",
        "/drivers/meter/%2e%2e/gem.db",
        "/drivers/fake/page.js",
    ):
        assert (await meter_host.get(url)).status_code == 404, url
    # The host's page and the API keep their own answers.
    assert (await meter_host.get("/")).status_code == 200
    assert (await meter_host.get("/api/drivers/meter")).status_code == 200


class _BrokenDriver(MeterDriver):
    @classmethod
    def web(cls) -> DriverWeb | None:
        return DriverWeb(cls.directory, (DriverPage("x", "X", "../outside.js"),))


def test_a_page_without_its_module_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "outside.js").write_text(PAGE_JS)
    _BrokenDriver.directory = tmp_path / "web"
    _BrokenDriver.directory.mkdir()
    with pytest.raises(ValueError, match="has no module"):
        driver_mounts({"broken": _BrokenDriver})
    with pytest.raises(ValueError, match="name"):
        driver_mounts({"bad name": MeterDriver})

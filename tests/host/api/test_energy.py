"""GET /api/energy/{device_id}: counter energy summed into the plant's local hours, days,
months and years (DST days of 23 and 25 hours), the two shares, absent roles, bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from gem_envoy.host.api import create_app
from gem_envoy.host.contract import AttributeSpec, DriverMetadata
from gem_envoy.host.energy import host_zone
from gem_envoy.host.energy_source import slot_energy
from gem_envoy.host.service import Host
from gem_envoy.host.store import HistorySeries
from gem_envoy.host.users import USER
from tests.fakes import FakeDriver

BERLIN = ZoneInfo("Europe/Berlin")
# Wh per hour of each counter: production 1000, of which 400 exported; consumption 800, of
# which 200 imported. Self-consumption 60 %, self-sufficiency 75 %.
RATES = {"prod_wh": 1000.0, "export_wh": 400.0, "use_wh": 800.0, "import_wh": 200.0}


def _counter(name: str, role: str) -> AttributeSpec:
    return AttributeSpec(name, "int", role, history=True, unit="Wh", total=True, energy=role)


class MeterDriver(FakeDriver):
    """A device with production, consumption and grid counters, and no storage."""

    name: ClassVar[str] = "meter"

    @classmethod
    def metadata(cls) -> DriverMetadata:
        runtime = (
            _counter("prod_wh", "production"),
            _counter("use_wh", "consumption"),
            _counter("import_wh", "grid_import"),
            _counter("export_wh", "grid_export"),
        )
        return DriverMetadata("meter", required=(), optional=(), runtime=runtime, zone=())


@dataclass
class Api:
    host: Host
    client: httpx.AsyncClient
    device_id: int

    async def seed(self, first: dt.datetime, hours: int) -> None:
        """Hourly readings of each counter rising at RATES, at half past each hour from just
        before `first` on: each rise lands in one hour of `hours` from `first`."""
        start = first.timestamp() - 1800
        await self.host.store.add_history(
            HistorySeries(
                "device",
                self.device_id,
                name,
                [(start + h * 3600, 5_000_000 + h * rate) for h in range(hours + 1)],
            )
            for name, rate in RATES.items()
        )

    async def energy(self, **params: str) -> dict[str, Any]:
        answer = await self.client.get(f"/api/energy/{self.device_id}", params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    host = await Host.open(tmp_path / "gem.db", {"meter": MeterDriver}, polling=False)
    try:
        device = await host.store.add_device(
            "plant", "meter", attributes={"time_zone": "Europe/Berlin"}
        )
        context = host.api_context()
        token, _ = context.sessions.create("reader", USER)
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            client.headers["Authorization"] = f"Bearer {token}"
            yield Api(host, client, device.id)
    finally:
        await host.close()


def utc(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


async def test_dst_days_have_23_and_25_local_hours(api: Api) -> None:
    await api.seed(utc(2026, 3, 28), 24 * 3)
    await api.seed(utc(2026, 10, 24), 24 * 3)
    spring = await api.energy(period="hour", **{"from": "2026-03-29"})
    autumn = await api.energy(period="hour", **{"from": "2026-10-25", "to": "2026-10-25"})

    assert len(spring["buckets"]) == 23
    assert [b["label"][11:16] for b in spring["buckets"][:4]] == [
        "00:00",
        "01:00",
        "03:00",
        "04:00",
    ]
    assert spring["totals"]["production"] == 23 * 1000
    assert len(autumn["buckets"]) == 25
    twice = [b for b in autumn["buckets"] if b["label"][11:16] == "02:00"]
    assert [b["label"][16:] for b in twice] == ["+02:00", "+01:00"]
    assert autumn["totals"]["production"] == 25 * 1000
    assert {b["production"] for b in autumn["buckets"]} == {1000}
    assert autumn["time_zone"] == "Europe/Berlin"
    assert autumn["from"] == autumn["to"] == "2026-10-25"


async def test_days_months_and_years_are_local_calendar_sums(api: Api) -> None:
    first = dt.datetime(2026, 1, 1, tzinfo=BERLIN).astimezone(dt.UTC)
    await api.seed(first, 8760)  # 2026 has 365 days, its DST hours cancel out
    months = await api.energy(period="month", **{"from": "2026-01-01"})
    by_month = {b["label"]: b["production"] for b in months["buckets"]}

    assert len(by_month) == 12
    assert by_month["2026-01"] == 31 * 24 * 1000
    assert by_month["2026-03"] == (31 * 24 - 1) * 1000  # springs forward
    assert by_month["2026-10"] == (31 * 24 + 1) * 1000  # falls back
    assert months["totals"]["production"] == 8760 * 1000
    assert months["buckets"][2]["start"] == "2026-03-01T00:00:00+01:00"
    assert months["buckets"][3]["start"] == "2026-04-01T00:00:00+02:00"

    days = await api.energy(period="day", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert len(days["buckets"]) == 31
    assert days["buckets"][28]["label"] == "2026-03-29"
    assert days["buckets"][28]["production"] == 23 * 1000
    assert days["totals"]["production"] == by_month["2026-03"]

    years = await api.energy(period="year")  # all years: from the first with data
    assert years["buckets"][0]["label"] == "2026"
    assert years["buckets"][0]["production"] == 8760 * 1000


async def test_shares_and_absent_roles(api: Api) -> None:
    await api.seed(utc(2026, 5, 31, 20), 24 * 3)
    body = await api.energy(period="day", **{"from": "2026-06-01", "to": "2026-06-02"})
    day = body["buckets"][0]

    assert body["roles"] == ["production", "consumption", "grid_import", "grid_export"]
    assert (day["production"], day["consumption"]) == (24000, 19200)
    assert (day["grid_import"], day["grid_export"]) == (4800, 9600)
    assert day["self_consumption_pct"] == 60.0
    assert day["self_sufficiency_pct"] == 75.0
    assert day["storage_charge"] is None and day["storage_discharge"] is None
    assert body["totals"]["self_sufficiency_pct"] == 75.0
    # A day without readings is unknown, not zero; so are its shares.
    empty = await api.energy(period="day", **{"from": "2026-07-01", "to": "2026-07-01"})
    assert empty["buckets"][0]["production"] is None
    assert empty["totals"]["self_consumption_pct"] is None


async def test_a_device_without_a_zone_is_reported_in_the_hosts_zone(api: Api) -> None:
    await api.host.store.set_attributes("device", api.device_id, {"time_zone": None})
    body = await api.energy(period="hour")
    assert body["time_zone"] == host_zone().key
    assert len(body["buckets"]) in (23, 24, 25)
    assert body["from"] == dt.datetime.now(host_zone()).date().isoformat()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"period": "week"}, "period"),
        ({"period": "day", "from": "2026-03-05", "to": "2026-03-01"}, "before"),
        ({"period": "hour", "from": "2026-01-01", "to": "2026-12-31"}, "at most 3660"),
        ({"period": "day", "from": "2026-02-30"}, "from"),
    ],
)
async def test_bad_input_is_refused_with_a_reason(
    api: Api, params: dict[str, str], words: str
) -> None:
    answer = await api.client.get(f"/api/energy/{api.device_id}", params=params)
    assert answer.status_code == 422
    assert words in answer.json()["error"]


async def test_an_unknown_device_is_404_and_a_stranger_is_401(api: Api) -> None:
    assert (await api.client.get("/api/energy/999")).status_code == 404
    anonymous = await api.client.get(f"/api/energy/{api.device_id}", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_the_drivers_metadata_names_each_counters_role(api: Api) -> None:
    answer = await api.client.get("/api/drivers/meter")
    roles = {s["name"]: s["energy"] for s in answer.json()["runtime"]}
    assert roles == {
        "prod_wh": "production",
        "use_wh": "consumption",
        "import_wh": "grid_import",
        "export_wh": "grid_export",
    }


def test_a_role_is_declared_only_on_a_lifetime_counter_in_wh() -> None:
    with pytest.raises(ValueError, match="not one of"):
        AttributeSpec("x", "int", "", total=True, unit="Wh", energy="sunshine")
    with pytest.raises(ValueError, match="lifetime counter"):
        AttributeSpec("x", "int", "", unit="W", energy="production")


@dataclass(frozen=True)
class Row:
    start: float
    delta: float | None


class RolledStore:
    """Rollups folded up to 02:00 (one bucket of them a reset's, one of a non-counter),
    raw readings on either side."""

    async def rollups(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> Sequence[Row]:
        return [Row(0.0, 500.0), Row(3600.0, -20.0), Row(7200.0, None)]

    async def rolled_up_until(
        self, target_type: str, target_id: int, name: str, resolution_s: int
    ) -> float | None:
        return 7200.0

    async def history(
        self, target_type: str, target_id: int, name: str, since: float, until: float | None
    ) -> list[tuple[float, float]]:
        points = [(5000.0, 1.0), (7000.0, 10.0), (9000.0, 30.0), (11000.0, 70.0), (12000.0, 5.0)]
        return [p for p in points if since <= p[0] <= (until or 1e12)]


async def test_rollups_up_to_where_they_are_folded_then_raw_readings() -> None:
    slots = await slot_energy(RolledStore(), 1, "prod_wh", 3600, 0.0, 4 * 3600.0)
    # The bucket at 02:00 is not folded: its rise comes from the readings at 01:56 and 02:30.
    assert slots == {0.0: 500.0, 3600.0: 0.0, 7200.0: 20.0, 10800.0: 40.0}


async def test_the_stores_rollups_give_the_same_report_as_raw_readings(api: Api) -> None:
    # Any: the store's rollups are being built beside this test, which runs once they land.
    store: Any = api.host.store
    if not hasattr(store, "roll_up"):
        pytest.skip("this store has no rollups yet")
    await api.seed(utc(2026, 10, 24), 24 * 3)
    params = {"period": "hour", "from": "2026-10-25"}
    raw = await api.energy(**params)
    store.declare_counters(RATES)
    assert await store.roll_up(now=utc(2026, 10, 27, 12).timestamp()) > 0
    rolled = await api.energy(**params)
    assert rolled == raw
    assert len(rolled["buckets"]) == 25

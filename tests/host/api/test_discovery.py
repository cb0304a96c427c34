"""`GET /api/discovery`: what each driver finds on the network, for the add-device form."""

from __future__ import annotations

import pytest

from gem_envoy.host.contract import Discovered
from tests.fakes import FakeDriver
from tests.host.api.conftest import Host


async def finds_two(cls: type[FakeDriver], timeout_s: float) -> tuple[Discovered, ...]:
    assert timeout_s == 1.5
    return (
        Discovered("meter A at 198.18.0.1", {"ip": "198.18.0.1", "serial_number": "A"}),
        Discovered("meter B", {"ip": "198.18.0.2", "token": "never-passed-on"}),
    )


async def fails(cls: type[FakeDriver], timeout_s: float) -> tuple[Discovered, ...]:
    raise OSError("no multicast route")


async def test_admins_get_what_each_driver_found(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeDriver, "discover", classmethod(finds_two))
    answer = await host.admin.get("/api/discovery", params={"timeout": 1.5})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "driver": "fake",
            "label": "meter A at 198.18.0.1",
            "attributes": {"ip": "198.18.0.1", "serial_number": "A"},
        },
        {"driver": "fake", "label": "meter B", "attributes": {"ip": "198.18.0.2"}},
    ]
    assert (await host.user.get("/api/discovery")).status_code == 403
    assert (await host.admin.get("/api/discovery", params={"timeout": 60})).status_code == 422


async def test_a_driver_that_finds_nothing_or_fails_answers_nothing(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await host.admin.get("/api/discovery", params={"timeout": 0.1})).json() == []
    monkeypatch.setattr(FakeDriver, "discover", classmethod(fails))
    answer = await host.admin.get("/api/discovery", params={"timeout": 0.1})
    assert answer.status_code == 200 and answer.json() == []

"""The store's API: devices, zones, attributes, history, commands and settings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import (
    HISTORY_RETENTION_KEY,
    AttributeValue,
    ConflictError,
    Device,
    NotFoundError,
    Store,
    StoreError,
    ValidationError,
    Zone,
)
from tests.host.conftest import count, snapshot

DAY = 86400.0


CHARTED = ("power",)  # the attributes these tests chart, as a driver would declare


async def test_device_round_trip(store: Store) -> None:
    device = await store.add_device("envoy", "enphase_envoy", label="Roof", elevated=True)
    assert device == Device(device.id, "envoy", "Roof", "enphase_envoy", True, True)
    assert await store.get_device(device.id) == device
    assert await store.get_device("envoy") == device
    assert await store.get_device(str(device.id)) == device
    assert await store.list_devices() == [device]


async def test_missing_device_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="42"):
        await store.get_device(42)
    with pytest.raises(NotFoundError, match="nope"):
        await store.get_device("nope")
    with pytest.raises(NotFoundError):
        await store.update_device(42, label="x")
    with pytest.raises(NotFoundError):
        await store.delete_device(42)


async def test_device_names_are_unique(store: Store) -> None:
    first = await store.add_device("envoy", "enphase_envoy")
    other = await store.add_device("garage", "enphase_envoy")
    with pytest.raises(ConflictError, match="envoy"):
        await store.add_device("envoy", "other_driver")
    with pytest.raises(ConflictError):
        await store.update_device(other.id, name="envoy")
    assert await store.list_devices() == [first, other]


async def test_update_device(store: Store) -> None:
    device = await store.add_device("envoy", "enphase_envoy")
    assert await store.update_device(device.id) == device
    updated = await store.update_device(
        device.id, name="solar", label="Solar", driver="d2", enabled=False, elevated=True
    )
    assert updated == Device(device.id, "solar", "Solar", "d2", False, True)
    assert await store.update_device(device.id, name="solar") == updated


async def test_add_device_with_attributes_is_one_transaction(store: Store, db_path: Path) -> None:
    device = await store.add_device("envoy", "enphase_envoy", attributes={"host": "10.0.0.2"})
    assert (await store.get_attributes("device", device.id))["host"].value == "10.0.0.2"
    before = snapshot(db_path)
    with pytest.raises(ConflictError):
        await store.add_device("envoy", "x", attributes={"host": "10.0.0.3"})
    with pytest.raises(ValidationError):
        await store.add_device("new", "x", attributes={"bad name": 1})
    assert snapshot(db_path) == before


async def test_zone_round_trip(store: Store) -> None:
    device = await store.add_device("envoy", "enphase_envoy")
    zone = await store.add_zone(device.id, "inverter 1", "482301000001")
    assert zone == Zone(zone.id, device.id, "inverter 1", "482301000001")
    assert await store.get_zone(zone.id) == zone
    assert await store.list_zones(device.id) == [zone]
    assert await store.list_zones() == [zone]
    renamed = await store.update_zone(zone.id, name="east", address="482301000002")
    assert renamed == Zone(zone.id, device.id, "east", "482301000002")
    assert await store.update_zone(zone.id) == renamed
    await store.delete_zone(zone.id)
    assert await store.list_zones() == []
    with pytest.raises(NotFoundError):
        await store.get_zone(zone.id)


async def test_zone_names_are_unique_per_device(store: Store) -> None:
    one = await store.add_device("one", "d")
    two = await store.add_device("two", "d")
    zone = await store.add_zone(one.id, "east")
    await store.add_zone(two.id, "east")
    other = await store.add_zone(one.id, "west")
    with pytest.raises(ConflictError):
        await store.add_zone(one.id, "east")
    with pytest.raises(ConflictError):
        await store.update_zone(other.id, name="east")
    with pytest.raises(NotFoundError):
        await store.add_zone(999, "east")
    with pytest.raises(NotFoundError):
        await store.list_zones(999)
    assert [z.name for z in await store.list_zones(one.id)] == [zone.name, "west"]


async def test_initial_and_unlisted_attributes_get_no_history(store: Store) -> None:
    device = await store.add_device("envoy", "d", attributes={"power": 1})
    await store.set_attributes("device", device.id, {"power": 2, "energy": 3})
    await store.set_attributes("device", device.id, {"power": 4, "energy": 5}, history=CHARTED)
    assert [v for _, v in await store.history("device", device.id, "power", 0)] == [4.0]
    assert await store.history("device", device.id, "energy", 0) == []


async def test_deleting_a_device_takes_everything_of_it(store: Store, db_path: Path) -> None:
    keep = await store.add_device("keep", "d")
    await store.set_attributes("device", keep.id, {"power": 1}, history=CHARTED)
    keep_zone = await store.add_zone(keep.id, "z")
    await store.set_attributes("zone", keep_zone.id, {"power": 2}, history=CHARTED)
    device = await store.add_device("gone", "d", attributes={"power": 3, "api_token": "t"})
    zone = await store.add_zone(device.id, "z")
    await store.set_attributes("zone", zone.id, {"power": 4, "label": "x"}, history=CHARTED)

    await store.delete_device(device.id)

    assert await store.list_devices() == [keep]
    assert await store.list_zones() == [keep_zone]
    rows = snapshot(db_path)
    assert {(r[0], r[1]) for r in rows["attributes"]} == {
        ("device", keep.id),
        ("zone", keep_zone.id),
    }
    assert {(r[0], r[1]) for r in rows["attribute_history"]} == {
        ("device", keep.id),
        ("zone", keep_zone.id),
    }
    with pytest.raises(NotFoundError):
        await store.get_attributes("zone", zone.id)


async def test_deleting_a_zone_takes_its_attributes_and_history(
    store: Store, db_path: Path
) -> None:
    device = await store.add_device("envoy", "d")
    await store.set_attributes("device", device.id, {"power": 1}, history=CHARTED)
    zone = await store.add_zone(device.id, "z")
    await store.set_attributes("zone", zone.id, {"power": 2}, history=CHARTED)
    await store.delete_zone(zone.id)
    assert count(db_path, "attributes") == 1
    assert count(db_path, "attribute_history") == 1
    with pytest.raises(NotFoundError):
        await store.delete_zone(zone.id)


async def test_ids_of_deleted_devices_are_not_reused(store: Store) -> None:
    device = await store.add_device("one", "d")
    await store.delete_device(device.id)
    assert (await store.add_device("two", "d")).id != device.id


async def test_attributes_keep_their_previous_value(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    await store.set_attributes("device", device.id, {"power": 1}, history=CHARTED)
    first = (await store.get_attributes("device", device.id))["power"]
    assert (first.value, first.previous, first.type, first.secure) == (1, None, "int", False)
    await store.set_attributes("device", device.id, {"power": 2}, history=CHARTED)
    await store.set_attributes(
        "device", device.id, {"power": 2}, history=CHARTED
    )  # unchanged: previous stays
    second = (await store.get_attributes("device", device.id))["power"]
    assert (second.value, second.previous) == (2, 1)
    assert second.updated_at >= first.updated_at
    await store.set_attributes("device", device.id, {"power": "off"}, history=CHARTED)
    third = (await store.get_attributes("device", device.id))["power"]
    assert (third.value, third.type, third.previous) == ("off", "str", 2)
    assert type(third.previous) is int


async def test_secure_attributes_come_back_decrypted_and_flagged(store: Store) -> None:
    device = await store.add_device("envoy", "d", attributes={"api_token": "one"})
    await store.set_attributes("device", device.id, {"api_token": "two", "host": "h"})
    attrs = await store.get_attributes("device", device.id)
    assert (attrs["api_token"].value, attrs["api_token"].previous) == ("two", "one")
    assert attrs["api_token"].secure and not attrs["host"].secure


async def test_none_deletes_an_attribute_but_keeps_its_history(store: Store, db_path: Path) -> None:
    device = await store.add_device("envoy", "d", attributes={"host": "h"})
    await store.set_attributes("device", device.id, {"power": 5}, history=CHARTED)
    await store.set_attributes("device", device.id, {"power": None, "absent": None})
    assert list(await store.get_attributes("device", device.id)) == ["host"]
    assert count(db_path, "attribute_history") == 1


async def test_delete_attribute(store: Store, db_path: Path) -> None:
    device = await store.add_device("envoy", "d", attributes={"power": 5, "host": "h"})
    await store.delete_attribute("device", device.id, "power")
    assert list(await store.get_attributes("device", device.id)) == ["host"]
    assert count(db_path, "attribute_history") == 0
    with pytest.raises(NotFoundError, match="power"):
        await store.delete_attribute("device", device.id, "power")


async def test_attributes_need_an_existing_target(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    with pytest.raises(NotFoundError):
        await store.set_attributes("device", device.id + 1, {"power": 1})
    with pytest.raises(NotFoundError):
        await store.set_attributes("zone", 1, {"power": 1})
    with pytest.raises(NotFoundError):
        await store.get_attributes("zone", 1)
    with pytest.raises(ValidationError):
        await store.set_attributes("gateway", device.id, {"power": 1})


async def test_history_holds_only_numeric_non_secure_values(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    values: dict[str, AttributeValue] = {
        "power": 5,
        "energy": 1.5,
        "on": True,
        "state": "idle",
        "api_token": 7,
    }
    start = time.time()
    await store.set_attributes("device", device.id, values, history=(*CHARTED, *values))
    await store.set_attributes("device", device.id, {"power": 6})  # not charted this time
    for name in ("on", "state", "api_token"):
        assert await store.history("device", device.id, name, 0) == []
    [(ts, value)] = await store.history("device", device.id, "power", 0)
    assert value == 5.0 and start <= ts <= time.time()
    assert [v for _, v in await store.history("device", device.id, "energy", 0)] == [1.5]


async def test_history_window(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    stamps = []
    for power in range(3):
        await store.set_attributes("device", device.id, {"power": power}, history=CHARTED)
        [(ts, _)] = (await store.history("device", device.id, "power", 0))[-1:]
        stamps.append(ts)
    window = await store.history("device", device.id, "power", stamps[1], stamps[1])
    assert window == [(stamps[1], 1.0)]
    assert [v for _, v in await store.history("device", device.id, "power", stamps[1])] == [1, 2]


async def test_prune_history_uses_the_retention_setting(store: Store, db_path: Path) -> None:
    device = await store.add_device("envoy", "d")
    await store.set_attributes("device", device.id, {"power": 1}, history=CHARTED)
    now = time.time()
    await store.roll_up(now + 2 * 3600)  # points go only once rolled up
    assert await store.prune_history(now + 9 * DAY) == 0
    assert await store.prune_history(now + 11 * DAY) == 1
    await store.set_attributes("device", device.id, {"power": 2}, history=CHARTED)
    await store.roll_up(now + 2 * 3600)
    await store.set_setting(HISTORY_RETENTION_KEY, "0.5")
    assert await store.prune_history(now + 0.25 * DAY) == 0
    assert await store.prune_history(now + 1 * DAY) == 1
    assert count(db_path, "attribute_history") == 0
    assert (await store.get_attributes("device", device.id))["power"].value == 2
    with pytest.raises(ValidationError):
        await store.set_setting(HISTORY_RETENTION_KEY, "-1")


async def test_commands_are_reconciled_per_driver(store: Store) -> None:
    await store.reconcile_commands("other", [("reboot", [], "")])
    await store.reconcile_commands(
        "envoy", [("get_status", [], "Reads status"), ("set_mode", ["mode"], "")]
    )
    await store.reconcile_commands(
        "envoy", [("set_mode", ["mode", "until"], "Sets it"), ("get_info", (), "Info")]
    )
    assert await store.list_commands("envoy") == [
        ("get_info", [], "Info"),
        ("set_mode", ["mode", "until"], "Sets it"),
    ]
    assert await store.list_commands("other") == [("reboot", [], "")]
    await store.reconcile_commands("envoy", [])
    assert await store.list_commands("envoy") == []
    with pytest.raises(ValidationError, match="unique"):
        await store.reconcile_commands("envoy", [("a", [], ""), ("a", [], "")])


async def test_settings(store: Store) -> None:
    assert await store.get_setting("theme", "light") == "light"
    await store.set_setting("theme", "dark")
    await store.set_setting("theme", "solar")
    assert await store.get_setting("theme", "light") == "solar"
    with pytest.raises(ValidationError):
        await store.set_setting("encryption_key_check", "x")


async def test_a_closed_store_refuses_work(db_path: Path, store: Store) -> None:
    await store.close()
    await store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        await store.list_devices()
    with pytest.raises(StoreError, match="closed"):
        await store.add_device("envoy", "d")


async def test_async_context_manager(db_path: Path, keyring: KeyRing) -> None:
    async with await Store.open(db_path, keyring) as store:
        await store.add_device("envoy", "d")
    async with await Store.open(db_path, keyring) as store:
        assert [d.name for d in await store.list_devices()] == ["envoy"]


@pytest.mark.parametrize(
    "name",
    ["", "x" * 101, "bad\nname", "tab\there", " padded", "padded ", "12", 12, None, "\ud800"],
)
async def test_invalid_device_names_are_refused(store: Store, name: object) -> None:
    with pytest.raises(ValidationError):
        await store.add_device(name, "d")  # type: ignore[arg-type]
    assert await store.list_devices() == []


@pytest.mark.parametrize(
    "values",
    [
        {"": 1},
        {"1abc": 1},
        {"with space": 1},
        {"a" * 65: 1},
        {"ok": float("nan")},
        {"ok": float("inf")},
        {"ok": b"bytes"},
        {"ok": [1, 2]},
        {"ok": 2**63},
        {"ok": "x" * (64 * 1024 + 1)},
        {"ok": "\udc80"},
        {"fine": 1, "ok": object()},
    ],
)
async def test_invalid_attributes_change_nothing(
    store: Store, db_path: Path, values: dict[str, object]
) -> None:
    device = await store.add_device("envoy", "d", attributes={"fine": 0})
    before = snapshot(db_path)
    with pytest.raises(ValidationError):
        await store.set_attributes("device", device.id, values)  # type: ignore[arg-type]
    assert snapshot(db_path) == before


async def test_big_values_at_the_limits_are_accepted(store: Store) -> None:
    device = await store.add_device("envoy", "d")
    values: dict[str, AttributeValue] = {
        "a" * 64: "é" * (32 * 1024),
        "low": -(2**63),
        "high": 2**63 - 1,
    }
    await store.set_attributes("device", device.id, values)
    got = await store.get_attributes("device", device.id)
    assert {name: a.value for name, a in got.items()} == values

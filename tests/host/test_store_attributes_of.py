"""`Store.get_attributes_of`: several devices' and zones' attributes in one read."""

from __future__ import annotations

from gem_envoy.host.store import Store


async def test_a_device_and_its_zones_come_back_together_and_a_gone_one_is_left_out(
    store: Store,
) -> None:
    device = await store.add_device("envoy", "enphase_envoy", attributes={"host": "10.0.0.2"})
    zone = await store.add_zone(device.id, "east", "A1")
    await store.set_attributes("zone", zone.id, {"watts": 120})
    found = await store.get_attributes_of([("device", device.id), ("zone", zone.id), ("zone", 999)])
    assert set(found) == {("device", device.id), ("zone", zone.id)}
    assert found[("device", device.id)] == await store.get_attributes("device", device.id)
    assert found[("zone", zone.id)]["watts"].value == 120

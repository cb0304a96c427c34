"""`GET /metrics` of a host running the fake driver, read with Prometheus' own parser."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gem_envoy.host.api_keys import METRICS, key_digest, new_key
from gem_envoy.host.metrics import metric_name
from tests.eventually import eventually
from tests.host.api.conftest import Host


async def scrape(host: Host) -> dict[str, tuple[str, list[Sample]]]:
    """{family name: (type, samples)} of one scrape with a metrics key."""
    key = new_key()
    await host.store.add_api_key(f"k{time.monotonic_ns()}", key_digest(key), METRICS)
    async with host.client(key) as scraper:
        answer = await scraper.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: (family.type, family.samples)
        for family in text_string_to_metric_families(answer.text)
    }


def only(samples: list[Sample], **labels: str) -> Sample:
    found = [s for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (labels, samples)
    return found[0]


@pytest.mark.parametrize(
    ("scope", "attribute", "unit", "name", "factor"),
    [
        ("device", "production_now_w", "W", "gem_envoy_device_production_now_watts", 1.0),
        ("device", "lifetime_wh", "Wh", "gem_envoy_device_lifetime_joules", 3600.0),
        ("device", "battery_soc_percent", "%", "gem_envoy_device_battery_soc_ratio", 0.01),
        ("device", "polling_interval", "ms", "gem_envoy_device_polling_interval_seconds", 0.001),
        ("device", "inverter_count", "", "gem_envoy_device_inverter_count", 1.0),
        ("zone", "last_w", "W", "gem_envoy_zone_last_watts", 1.0),
        ("zone", "w", "W", "gem_envoy_zone_w_watts", 1.0),  # nothing left to strip
    ],
)  # fmt: skip
def test_names_carry_base_units(
    scope: str, attribute: str, unit: str, name: str, factor: float
) -> None:
    assert metric_name(scope, attribute, unit) == (name, factor)


async def test_attributes_and_health_of_each_device_and_zone(host: Host) -> None:
    meter = await host.add_device("meter", attributes={"token": "devtok-secret-value-123"})
    broken = await host.add_device("broken", attributes={"mode": "fail"})
    buggy = await host.add_device("buggy", attributes={"mode": "bug"})
    await host.store.set_attributes(
        "device", meter["id"], {"serial_number": "SN-1", "temp_c": 21.5}
    )
    zone = await host.store.add_zone(meter["id"], "roof", "A-17", attributes={"level": 3})
    await eventually(lambda: host.driver_of(meter["id"]).polls >= 2)
    await eventually(lambda: host.context.supervisor.runners[buggy["id"]].failures >= 1)
    await eventually(lambda: host.context.supervisor.runners[broken["id"]].failures >= 1)

    metrics = await scrape(host)
    labels = {"device": "meter", "driver": "fake", "serial": "SN-1"}
    kind, polls = metrics["gem_envoy_device_polls"]  # the driver's own `polls` attribute
    assert kind == "gauge" and only(polls, **labels).value >= 2
    # An attribute the driver does not declare is still a number worth having.
    assert only(metrics["gem_envoy_device_temp_c"][1], **labels).value == 21.5
    zone_labels = {**labels, "zone": "roof", "address": "A-17"}
    assert only(metrics["gem_envoy_zone_level"][1], **zone_labels).value == 3
    assert zone.name == "roof"

    assert only(metrics["gem_envoy_online"][1], **labels).value == 1
    assert only(metrics["gem_envoy_online"][1], device="broken").value == 0
    last_poll = only(metrics["gem_envoy_last_poll_timestamp_seconds"][1], **labels).value
    assert abs(last_poll - time.time()) < 60
    kind, cycles = metrics["gem_envoy_polls"]
    assert kind == "counter" and only(cycles, **labels).name == "gem_envoy_polls_total"
    failures = metrics["gem_envoy_poll_failures"][1]
    assert only(failures, device="broken", kind="device_error").value >= 1
    assert only(failures, device="buggy", kind="driver_bug").value >= 1
    assert only(metrics["gem_envoy_poll_lag_seconds"][1], **labels).value >= 0

    text = repr(metrics)
    assert "devtok-secret-value-123" not in text and "token" not in text


async def test_a_disabled_device_keeps_its_values_without_polling_health(host: Host) -> None:
    device = await host.add_device("meter")
    await eventually(lambda: host.driver_of(device["id"]).polls >= 1)
    await host.admin.put(f"/api/data/devices/{device['id']}", json={"enabled": False})
    metrics = await scrape(host)
    assert only(metrics["gem_envoy_device_polls"][1], device="meter").value >= 1
    assert "gem_envoy_polls" not in metrics

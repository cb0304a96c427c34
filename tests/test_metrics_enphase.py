"""`/metrics` of a host polling a simulated gateway with the real driver: every numeric
attribute of the device and its zones, in base units, labelled by device, driver and serial."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gem_envoy.host.api import create_app
from gem_envoy.host.api_keys import METRICS, key_digest, new_key
from gem_envoy.host.metrics import metric_name
from gem_envoy.host.service import Host
from gem_envoy.host.types import AttributeValue
from gem_envoy.sim import SimServer
from tests.eventually import eventually
from tests.host.api.conftest import serve

DASHBOARD = Path(__file__).parents[1] / "docs" / "grafana-dashboard.json"


@pytest.fixture
def sim(frozen_battery_sim: SimServer) -> SimServer:
    return frozen_battery_sim


async def values(host: Host, target: str, target_id: int) -> dict[str, AttributeValue]:
    return {n: a.value for n, a in (await host.store.get_attributes(target, target_id)).items()}


async def test_every_numeric_attribute_is_a_metric(enphase_host: Host, sim: SimServer) -> None:
    token = sim.mint_token("installer", 365 * 86400)
    attributes: dict[str, AttributeValue] = {"ip": sim.host, "port": sim.port, "token": token}
    device = await enphase_host.devices.create("envoy", "enphase_envoy", attributes=attributes)
    plant = sim.plant
    assert plant is not None
    serials = [inverter.serial for inverter in plant.inverters]
    for number, serial in enumerate(serials):
        await enphase_host.devices.add_zone(device.id, f"panel-{number}", serial)

    async def zones_reported() -> bool:
        zones = await enphase_host.store.list_zones(device.id)
        return all(["last_w" in await values(enphase_host, "zone", z.id) for z in zones])

    await eventually(zones_reported, timeout_s=30)
    stored = await values(enphase_host, "device", device.id)
    key = new_key()
    await enphase_host.store.add_api_key("prometheus", key_digest(key), METRICS)
    async with (
        serve(create_app(enphase_host.api_context())) as url,
        httpx_client(url, key) as scraper,
    ):
        answer = await scraper.get("/metrics")
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}

    meta = enphase_host.supervisor.drivers["enphase_envoy"].metadata()
    specs = {s.name: s for s in (*meta.required, *meta.optional, *meta.runtime)}
    labels = {"device": "envoy", "driver": "enphase_envoy", "serial": sim.serial}
    numeric = {
        n: v for n, v in stored.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    assert {"production_now_w", "production_lifetime_wh", "battery_soc_percent"} <= set(numeric)
    for name, value in numeric.items():
        if name == "last_poll_ms":  # the host's own: a timestamp of its own name
            continue
        spec = specs[name]
        metric, factor = metric_name("device", name, spec.unit)
        family = families[metric]
        assert family.type == ("counter" if spec.total else "gauge"), name
        [sample] = [s for s in family.samples if s.labels == labels]
        assert sample.value == pytest.approx(value * factor), name
        assert sample.name == metric + ("_total" if spec.total else "")

    lifetime = families["gem_envoy_device_production_lifetime_joules"]
    assert lifetime.type == "counter"
    assert families["gem_envoy_device_battery_soc_ratio"].samples[0].value <= 1.0

    zone_watts = families["gem_envoy_zone_last_watts"].samples
    assert sorted(s.labels["address"] for s in zone_watts) == sorted(serials)
    assert all(s.labels["serial"] == sim.serial for s in zone_watts)

    [expiry] = [
        s
        for s in families["gem_envoy_expiry_timestamp_seconds"].samples
        if s.labels["attribute"] == "token_expires_at"
    ]
    expires = stored["token_expires_at"]
    assert isinstance(expires, str)
    assert expiry.value == dt.datetime.fromisoformat(expires).timestamp()
    assert token not in answer.text
    assert [s.value for s in families["gem_envoy_online"].samples] == [1.0]

    # The Grafana dashboard of the README asks only for series the host serves.
    served = {s.name for f in families.values() for s in f.samples}
    served |= {f"{f.name}_total" for f in families.values() if f.type == "counter"}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    asked = {name for expr in exprs for name in re.findall(r"gem_envoy_\w+", expr)}
    assert len(asked) >= 10 and asked <= served, asked - served
    assert {'attribute="token_expires_at"', 'attribute="certificate_expires_at"'} <= {
        label for expr in exprs for label in re.findall(r'attribute="\w+"', expr)
    }
    expiring = {
        s.labels["attribute"] for s in families["gem_envoy_expiry_timestamp_seconds"].samples
    }
    assert expiring == {"token_expires_at", "certificate_expires_at"}


def httpx_client(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"})

"""Home Assistant discovery documents, against a real broker: one HA device per host device
and per zone, each accepted by HA's schema; the Energy dashboard's sensors as it wants them;
a select and a number where a driver declares settings and writes are allowed, which set
the device through the command topic; sent again when HA comes back online."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from gem_envoy.host.contract import (
    AttributeSpec,
    AttributeValue,
    CommandSpec,
    DeviceConfig,
    DriverMetadata,
    Json,
    Sink,
    ZoneConfig,
)
from gem_envoy.host.service import Host
from gem_envoy.sim import SimOptions, SimServer, start_simulator
from tests.eventually import eventually
from tests.fakes import FakeDriver
from tests.host.bridges.conftest import bridged, options_for
from tests.host.bridges.ha_schema import check_document, render
from tests.mqtt_broker import Broker, Recorder, recording

SECRET_EMAIL = "owner@example.com"


def _reading(name: str, kind: str, unit: str = "", **more: object) -> AttributeSpec:
    return AttributeSpec(name, kind, name, unit=unit, **more)  # type: ignore[arg-type]


class HomeMeter(FakeDriver):
    """A plant with everything HA's Energy dashboard asks for, and two settings."""

    name: ClassVar[str] = "home_meter"
    readings: ClassVar[dict[str, AttributeValue]] = {
        "grid_power_w": -850,
        "solar_power_w": 2400,
        "solar_lifetime_wh": 5_000_000,
        "home_lifetime_wh": 4_000_000,
        "grid_import_lifetime_wh": 1_500_000,
        "grid_export_lifetime_wh": 2_500_000,
        "battery_charged_lifetime_wh": 800_000,
        "battery_discharged_lifetime_wh": 700_000,
        "battery_soc_percent": 64.5,
        "solar_today_wh": 12_000,
        "storage_mode": "self-consumption",
        "battery_reserve_soc_percent": 20,
        "grid_up": True,
        "grid_charging": False,
        "note": "",
        "account_email": SECRET_EMAIL,
    }

    @classmethod
    def metadata(cls) -> DriverMetadata:
        runtime = (
            _reading("grid_power_w", "int", "W"),
            _reading("solar_power_w", "int", "W"),
            _reading("solar_lifetime_wh", "int", "Wh", total=True),
            _reading("home_lifetime_wh", "int", "Wh", total=True),
            _reading("grid_import_lifetime_wh", "int", "Wh", total=True),
            _reading("grid_export_lifetime_wh", "int", "Wh", total=True),
            _reading("battery_charged_lifetime_wh", "int", "Wh", total=True),
            _reading("battery_discharged_lifetime_wh", "int", "Wh", total=True),
            _reading("battery_soc_percent", "float", "%"),
            _reading("solar_today_wh", "int", "Wh"),
            _reading("storage_mode", "str", choices=("self-consumption", "backup", "economy")),
            _reading("battery_reserve_soc_percent", "int", "%", minimum=0, maximum=100),
            _reading("grid_up", "bool"),
            _reading("grid_charging", "bool"),
            _reading("note", "str"),
            _reading("absent_w", "int", "W"),  # declared, never reported: no entity
            _reading("account_email", "str", secure=True),
        )
        zone = (_reading("panel_w", "int", "W"),)
        return DriverMetadata("meter", required=(), optional=(), runtime=runtime, zone=zone)

    @classmethod
    def commands(cls) -> tuple[CommandSpec, ...]:
        return (
            *FakeDriver.commands(),
            CommandSpec("set_storage_mode", ("mode",), "", writes=True, sets="storage_mode"),
            CommandSpec(
                "set_reserve_soc",
                ("percent", "dry_run"),  # the value is the first argument
                "",
                writes=True,
                sets="battery_reserve_soc_percent",
            ),
            CommandSpec("set_grid_charging", ("on",), "", writes=True, sets="grid_charging"),
        )

    def __init__(self, config: DeviceConfig, sink: Sink) -> None:
        super().__init__(config, sink)
        self.values = dict(HomeMeter.readings)  # the settings as this device holds them

    async def poll(self) -> None:
        await super().poll()
        await self.sink.device_attributes(self.values)
        for zone in self.config.zones:
            await self.sink.zone_attributes(zone.id, {"panel_w": 310})

    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        setting = {
            "set_storage_mode": "storage_mode",
            "set_reserve_soc": "battery_reserve_soc_percent",
            "set_grid_charging": "grid_charging",
        }
        if action in setting:
            (value,) = args.values()
            assert isinstance(value, str | int | bool)
            self.values[setting[action]] = value
            await self.sink.device_attributes({setting[action]: value})
            return {"set": value}
        return await super().command(action, args, zone)


@pytest.fixture
async def meter_host(tmp_path: Path) -> AsyncIterator[Host]:
    host = await Host.open(tmp_path / "gem.db", {"home_meter": HomeMeter})
    await host.supervisor.start()
    try:
        device = await host.devices.create("plant", "home_meter", label="My plant")
        await host.devices.add_zone(device.id, "Roof east", "A1")
        yield host
    finally:
        await host.close()


def documents(seen: Recorder) -> dict[str, dict[str, object]]:
    return {
        topic: json.loads(payload)
        for topic, payload in seen.latest.items()
        if topic.startswith("homeassistant/device/")
    }


async def test_documents_are_what_home_assistant_accepts(meter_host: Host, broker: Broker) -> None:
    async with (
        recording(broker.port, "homeassistant/#") as (seen, ha),
        bridged(meter_host, options_for(broker, commands="all")),
        recording(broker.port, "gem-envoy/#") as (state, _),
    ):
        await eventually(lambda: len(documents(seen)) == 2, 10, "two HA devices")
        await eventually(lambda: "panel_w" in json.dumps(documents(seen)), 10, "the zone's")
        docs = documents(seen)
        gateway = check_document(docs["homeassistant/device/gem-envoy_1/config"])
        zone = docs["homeassistant/device/gem-envoy_1_zone_1/config"]
        assert check_document(zone).keys() == {"panel_w"}
        assert zone["dev"] == {"ids": ["gem-envoy_1_zone_1"], "name": "My plant Roof east",
                               "via_device": "gem-envoy_1"}  # fmt: skip
        async with recording(broker.port, "homeassistant/#") as (later, _):  # retained
            await eventually(lambda: documents(later) == docs, 5, "retained documents")

        # The Energy dashboard: each lifetime counter a total_increasing energy sensor in Wh,
        # grid import and export apart; today's energy is not one (it would count twice).
        energy = {k for k, c in gateway.items() if c.get("state_class") == "total_increasing"}
        assert energy == {
            "solar_lifetime_wh", "home_lifetime_wh", "grid_import_lifetime_wh",
            "grid_export_lifetime_wh", "battery_charged_lifetime_wh",
            "battery_discharged_lifetime_wh",
        }  # fmt: skip
        assert all(gateway[k]["device_class"] == "energy" for k in energy)
        assert gateway["solar_today_wh"].get("state_class") is None
        assert gateway["grid_power_w"]["device_class"] == "power"
        assert gateway["battery_soc_percent"]["unit_of_measurement"] == "%"
        assert gateway["online"]["device_class"] == "connectivity"
        assert gateway["set_storage_mode_control"]["p"] == "select"
        assert gateway["set_reserve_soc_control"]["p"] == "number"
        assert "absent_w" not in gateway and "account_email" not in gateway
        assert SECRET_EMAIL not in json.dumps(docs)

        # The templates read the state document as HA would.
        await eventually(lambda: "gem-envoy/plant/state" in state.latest, 10)
        document = state.latest["gem-envoy/plant/state"]
        assert render(gateway["grid_import_lifetime_wh"]["value_template"], document) == "1500000"
        assert render(gateway["online"]["value_template"], document) == "true"
        assert render(gateway["last_error"]["value_template"], document) == "none"
        assert render(gateway["note"]["value_template"], document) == "None"  # empty: unknown
        assert render(gateway["grid_up"]["value_template"], document) == "true"
        assert render(zone["cmps"]["panel_w"]["value_template"], document) == "310"  # type: ignore[index]
        gone = json.dumps({"online": True, "zones": {}})
        assert render(gateway["grid_power_w"]["value_template"], gone) == "None"

        # A select and a number as HA sends them: the device is set, and its state follows.
        mode = gateway["set_storage_mode_control"]
        assert mode["options"] == ["self-consumption", "backup", "economy"]
        command = render(mode["command_template"], "backup")
        assert json.loads(command) == {"action": "set_storage_mode", "mode": "backup"}
        await ha.publish(str(mode["command_topic"]), command, qos=1)
        reserve = gateway["set_reserve_soc_control"]
        assert (reserve["min"], reserve["max"], reserve["step"]) == (0, 100, 1)
        await ha.publish(str(reserve["command_topic"]), render(reserve["command_template"], "35.0"))

        switch = gateway["set_grid_charging_control"]
        assert switch["p"] == "switch"
        assert json.loads(str(switch["payload_on"])) == {"action": "set_grid_charging", "on": True}
        await ha.publish(str(switch["command_topic"]), str(switch["payload_on"]), qos=1)

        def settled() -> bool:
            doc = state.latest.get("gem-envoy/plant/state", b"{}")
            return (
                render(mode["value_template"], doc) == "backup"
                and render(reserve["value_template"], doc) == "35"
                and render(switch["value_template"], doc) == switch["state_on"]
            )

        # (the next poll's state document carries them)
        await eventually(settled, 10, "the settings in the state document")


async def test_controls_only_where_writes_are_allowed_and_sent_again_for_ha(
    meter_host: Host, broker: Broker
) -> None:
    async with (
        recording(broker.port, "homeassistant/#") as (seen, ha),
        bridged(meter_host, options_for(broker, commands="read")),
    ):
        await eventually(lambda: "grid_power_w" in json.dumps(documents(seen)), 10)
        gateway = check_document(documents(seen)["homeassistant/device/gem-envoy_1/config"])
        assert not [c for c in gateway.values() if c["p"] in ("select", "number")]

        topic = "homeassistant/device/gem-envoy_1/config"
        sent = len(seen.on(topic))
        await ha.publish("homeassistant/status", "online", qos=1)  # HA restarted
        await eventually(lambda: len(seen.on(topic)) > sent, 10, "discovery sent again")


async def test_a_gateway_and_its_inverters_as_home_assistant_devices(
    enphase_host: Host, broker: Broker
) -> None:
    sim: SimServer = await start_simulator(SimOptions(inverters=2, battery=True, speed=0))
    try:
        device = await enphase_host.devices.create(
            "envoy", "enphase_envoy", attributes={
                "ip": sim.host, "port": sim.port, "polling_interval": 5000,
                "token": sim.mint_token("installer", 3600),
            },
        )  # fmt: skip
        serials = await enphase_host.supervisor.command(device.id, "get_inverters", {})
        assert isinstance(serials, dict) and isinstance(serials["serials"], list)
        await enphase_host.devices.add_zones(
            device.id, [(f"Panel {n}", str(s)) for n, s in enumerate(serials["serials"], 1)]
        )
        async with (
            recording(broker.port, "homeassistant/#") as (seen, _),
            bridged(enphase_host, options_for(broker, commands="all")),
        ):
            await eventually(
                lambda: (
                    len(documents(seen)) == 3
                    and all(k in json.dumps(documents(seen)) for k in ("last_w", "set_reserve_soc"))
                ),
                20,
                "the gateway with its battery settings, and two inverters",
            )
            docs = documents(seen)
            for document in docs.values():
                check_document(document)
            gateway = check_document(docs["homeassistant/device/gem-envoy_1/config"])
            lifetime = {"production_lifetime_wh", "consumption_lifetime_wh"}
            assert lifetime <= gateway.keys()
            assert all(gateway[k]["state_class"] == "total_increasing" for k in lifetime)
            assert gateway["production_now_w"]["device_class"] == "power"
            assert gateway["battery_soc_percent"]["unit_of_measurement"] == "%"
            assert gateway["token_expires_at"]["device_class"] == "timestamp"
            # The battery's settings, as the driver declares them.
            assert gateway["set_storage_mode_control"]["options"] == [
                "self-consumption", "backup", "economy"
            ]  # fmt: skip
            reserve = gateway["set_reserve_soc_control"]
            assert (reserve["p"], reserve["min"], reserve["max"]) == ("number", 0, 100)
            assert gateway["set_charge_from_grid_control"]["p"] == "switch"
    finally:
        await sim.close()

"""Home Assistant's MQTT discovery documents, from what drivers declare about attributes.

One document per HA device (`<discovery prefix>/device/<object id>/config`, retained): one
for each host device, and one for each of its zones (linked to it by `via_device`). Their
components are the declared attributes that the device has now, mapped by unit and type:

- "W": a power sensor (`measurement`);
- "Wh" declared `total` (a counter that only grows): an energy sensor, `total_increasing`,
  which HA's Energy dashboard accepts as it is; "Wh" otherwise (today's energy, a stored
  amount) an energy sensor without statistics, so it is never summed twice;
- other numbers: a sensor (`measurement`, with the unit); text: a diagnostic sensor (a
  `timestamp` for a declared expiry);
  true/false: a binary sensor;
- the host's own health: `online` (connectivity) and `last_error`, shown even while the
  device is offline;
- with writing commands allowed, a command declared to set an attribute (`CommandSpec.sets`)
  becomes a `select` (an attribute with `choices`), a `number` (one with a range) or a
  `switch` (a true/false one).

Every entity reads the device's state document (`<prefix>/<device>/state`, one per poll)
through a template, as zigbee2mqtt's do: a value the device no longer has, or an empty text,
then shows as unknown, which a cleared per-attribute topic could not tell HA (it ignores an
empty message and would keep the stale value).

HA removes a component that a new document lists with its platform only; the bridge sends
that once for a component that went away, and an empty document for a zone that did.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from gem_envoy import __version__
from gem_envoy.host.bridges.topics import RESERVED, Topics
from gem_envoy.host.contract import AttributeSpec, CommandSpec, DriverMetadata
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import Device, Zone

ORIGIN = {"name": "gem-envoy", "sw": __version__}
# HA's "None" makes a state unknown; its states are at most 255 characters.
_NUMBER = "{%% set v = %s %%}{{ 'None' if v is none else v }}"
_TEXT = "{%% set v = %s %%}{{ 'None' if v is none or v == '' else (v ~ '')[:255] }}"
_BOOL = "{%% set v = %s %%}{{ 'None' if v is none else ('true' if v else 'false') }}"
_TEMPLATES = {"str": _TEXT, "int": _NUMBER, "float": _NUMBER, "bool": _BOOL}
_UNIT_SUFFIXES = ("_percent", "_wh", "_w", "_ms", "_s")


@dataclass(frozen=True)
class Discovery:
    """What the documents of one host are made from: its topics and HA's prefix."""

    topics: Topics
    prefix: str  # HA's discovery prefix, "homeassistant" unless HA was told otherwise
    writes: bool  # whether writing commands are allowed from MQTT (controls shown)

    @property
    def id_base(self) -> str:
        # Two hosts on one broker (two prefixes) must not claim each other's devices.
        return "".join(c if c.isalnum() or c in "_-" else "_" for c in self.topics.prefix)

    def device_id(self, device: Device) -> str:
        return f"{self.id_base}_{device.id}"

    def zone_id(self, device: Device, zone: Zone) -> str:
        return f"{self.device_id(device)}_zone_{zone.id}"

    def topic(self, object_id: str) -> str:
        return f"{self.prefix}/device/{object_id}/config"

    def device_document(
        self,
        device: Device,
        meta: DriverMetadata,
        commands: Collection[CommandSpec],
        present: Collection[str],
    ) -> dict[str, object]:
        """The gateway itself: its declared attributes that it has now, its health, and
        (with writes allowed) the settings its commands set."""
        object_id = self.device_id(device)
        available = [
            {"topic": self.topics.status},
            {"topic": self.topics.availability(device.name)},
        ]
        components: dict[str, dict[str, object]] = {}
        state = self.topics.state(device.name)
        for spec in meta.runtime:
            if spec.name in present and _shown(spec.name):
                value = _device_value(spec.name)
                components[spec.name] = _component(spec, object_id, state, value, available)
        components |= self._health(device, object_id)
        if self.writes:
            components |= self._controls(device, meta, commands, present, object_id, available)
        return {
            "dev": {"ids": [object_id], "name": device.label or device.name,
                    "mdl": meta.device_type},
            "o": ORIGIN,
            "cmps": components,
            "qos": 1,
        }  # fmt: skip

    def zone_document(
        self, device: Device, zone: Zone, meta: DriverMetadata, present: Collection[str]
    ) -> dict[str, object]:
        object_id = self.zone_id(device, zone)
        available = [
            {"topic": self.topics.status},
            {"topic": self.topics.availability(device.name)},
        ]
        state = self.topics.state(device.name)
        components = {
            spec.name: _component(
                spec, object_id, state, _zone_value(zone.name, spec.name), available
            )
            for spec in meta.zone
            if spec.name in present and not is_secure(spec.name)
        }
        return {
            "dev": {
                "ids": [object_id],
                "name": f"{device.label or device.name} {zone.name}",
                "via_device": self.device_id(device),
            },
            "o": ORIGIN,
            "cmps": components,
            "qos": 1,
        }

    def _health(self, device: Device, object_id: str) -> dict[str, dict[str, object]]:
        # Available while the bridge is: these say why the device is offline.
        available = [{"topic": self.topics.status}]
        online: dict[str, object] = {
            "p": "binary_sensor",
            "unique_id": f"{object_id}_online",
            "name": "Online",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "state_topic": self.topics.state(device.name),
            "value_template": _BOOL % _device_value("online"),
            "payload_on": "true",
            "payload_off": "false",
            "availability": available,
        }
        error: dict[str, object] = {
            "p": "sensor",
            "unique_id": f"{object_id}_last_error",
            "name": "Last error",
            "entity_category": "diagnostic",
            "state_topic": self.topics.state(device.name),
            # No error reads "none" rather than unknown: the device is known to be fine.
            "value_template": "{% set v = value_json.get('last_error') %}{{ (v or 'none')[:255] }}",
            "availability": available,
        }
        return {"online": online, "last_error": error}

    def _controls(
        self,
        device: Device,
        meta: DriverMetadata,
        commands: Collection[CommandSpec],
        present: Collection[str],
        object_id: str,
        available: list[dict[str, str]],
    ) -> dict[str, dict[str, object]]:
        specs = {s.name: s for s in meta.runtime}
        controls: dict[str, dict[str, object]] = {}
        for command in commands:
            spec = specs.get(command.sets)
            if not command.writes or spec is None or not command.args:
                continue
            if spec.name not in present or not _shown(spec.name):
                continue
            control = _control(spec, command, command.args[0])
            if control is None:
                continue
            controls[f"{command.name}_control"] = {
                **control,
                "unique_id": f"{object_id}_{command.name}",
                "name": _title(spec.name),
                "entity_category": "config",
                "state_topic": self.topics.state(device.name),
                "value_template": _TEMPLATES[spec.type] % _device_value(spec.name),
                "command_topic": self.topics.command(device.name),
                "availability": available,
                "availability_mode": "all",
            }
        return controls


def document_text(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, sort_keys=True).encode()


def removals(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, object]:
    """`after` with the components of `before` that it lost listed by platform only, which
    is how a device document tells HA to remove them."""
    old = before.get("cmps")
    new = after.get("cmps")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return dict(after)
    gone = {key: {"p": c.get("p")} for key, c in old.items() if key not in new and "p" in c}
    if not gone:
        return dict(after)
    return {**after, "cmps": {**new, **gone}}


def _shown(name: str) -> bool:
    return not is_secure(name) and name not in RESERVED


def _title(name: str) -> str:
    """grid_power_w -> "Grid power"; the unit is the entity's own."""
    for suffix in _UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _device_value(name: str) -> str:
    """The Jinja expression of a device attribute in the state document."""
    return f"value_json.get({json.dumps(name)})"


def _zone_value(zone: str, name: str) -> str:
    return f"value_json.get('zones', {{}}).get({json.dumps(zone)}, {{}}).get({json.dumps(name)})"


def _component(
    spec: AttributeSpec,
    object_id: str,
    state_topic: str,
    value: str,
    available: list[dict[str, str]],
) -> dict[str, object]:
    base: dict[str, object] = {
        "unique_id": f"{object_id}_{spec.name}",
        "name": _title(spec.name),
        "state_topic": state_topic,
        "availability": available,
        "availability_mode": "all",
    }
    if spec.type == "bool":
        return {
            "p": "binary_sensor",
            **base,
            "value_template": _BOOL % value,
            "payload_on": "true",
            "payload_off": "false",
        }
    if spec.type == "str":
        text: dict[str, object] = {
            "p": "sensor",
            **base,
            "entity_category": "diagnostic",
            "value_template": _TEXT % value,
        }
        if spec.expiry:  # an ISO 8601 moment: HA shows it as a date and can alert on it
            text["device_class"] = "timestamp"
        return text
    sensor: dict[str, object] = {"p": "sensor", **base, "value_template": _NUMBER % value}
    if spec.unit:
        sensor["unit_of_measurement"] = spec.unit
    if spec.unit == "W":
        sensor |= {"device_class": "power", "state_class": "measurement"}
    elif spec.unit == "Wh":
        sensor["device_class"] = "energy"
        if spec.total:
            sensor["state_class"] = "total_increasing"
    else:
        sensor["state_class"] = "total_increasing" if spec.total else "measurement"
    return sensor


def _control(spec: AttributeSpec, command: CommandSpec, arg: str) -> dict[str, object] | None:
    """A select for a text setting with choices, a number for a numeric one with a range, a
    switch for a true/false one; the value goes in the command's first argument."""
    action = json.dumps(command.name)
    name = json.dumps(arg)
    if spec.type == "bool":
        return {
            "p": "switch",
            "payload_on": f'{{"action": {action}, {name}: true}}',
            "payload_off": f'{{"action": {action}, {name}: false}}',
            "state_on": "true",
            "state_off": "false",
        }
    if spec.type == "str" and spec.choices:
        return {
            "p": "select",
            "options": list(spec.choices),
            "command_template": f'{{"action": {action}, {name}: {{{{ value | tojson }}}}}}',
        }
    if spec.type in ("int", "float"):
        maximum = spec.maximum if spec.maximum is not None else 100 if spec.unit == "%" else None
        if maximum is None:
            return None  # HA would offer 1..100, which may mean nothing for this setting
        value = "value | int" if spec.type == "int" else "value"
        number: dict[str, object] = {
            "p": "number",
            "min": spec.minimum if spec.minimum is not None else 0,
            "max": maximum,
            "step": 1 if spec.type == "int" else 0.1,
            "mode": "box",
            "command_template": f'{{"action": {action}, {name}: {{{{ {value} }}}}}}',
        }
        if spec.unit:
            number["unit_of_measurement"] = spec.unit
        return number
    return None

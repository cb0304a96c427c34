"""Home Assistant's MQTT discovery schema, as far as these documents use it, from HA's own
documentation (integrations/mqtt, sensor.mqtt, binary_sensor.mqtt, select.mqtt,
number.mqtt; device-based discovery since 2024.11), and its templates rendered with Jinja2
as HA renders them (a sandbox, `value` and `value_json`)."""

from __future__ import annotations

import json

from jinja2.sandbox import ImmutableSandboxedEnvironment

# Each platform's required options, and the options it knows (others would be ignored
# by HA, so a typo would silently lose a setting: refuse them here).
REQUIRED = {
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
    "select": {"command_topic", "options"},
    "number": {"command_topic"},
    "switch": {"command_topic"},
}
COMMON = {
    "p", "unique_id", "name", "state_topic", "value_template", "availability",
    "availability_mode", "entity_category", "device_class", "enabled_by_default", "icon",
    "qos", "object_id",
}  # fmt: skip
KNOWN = {
    "sensor": COMMON | {"unit_of_measurement", "state_class", "suggested_display_precision"},
    "binary_sensor": COMMON | {"payload_on", "payload_off"},
    "select": COMMON | {"command_topic", "command_template", "options"},
    "number": COMMON
    | {"command_topic", "command_template", "min", "max", "step", "mode",
       "unit_of_measurement"},
    "switch": COMMON
    | {"command_topic", "payload_on", "payload_off", "state_on", "state_off"},
}  # fmt: skip
ENERGY_UNITS = {"Wh", "kWh", "MWh"}
POWER_UNITS = {"W", "kW"}
STATE_CLASSES = {"measurement", "total", "total_increasing"}


def check_document(document: dict[str, object]) -> dict[str, dict[str, object]]:
    """Assert that a device-based discovery document is one HA accepts; its components."""
    device = document["dev"]
    assert isinstance(device, dict) and device.get("ids"), "dev needs identifiers"
    origin = document["o"]
    assert isinstance(origin, dict) and origin.get("name"), "o (origin) needs a name"
    components = document["cmps"]
    assert isinstance(components, dict) and components
    ids = [c["unique_id"] for c in components.values() if isinstance(c, dict)]
    assert len(ids) == len(set(ids)), "unique_id must be unique"
    for key, component in components.items():
        assert isinstance(component, dict)
        platform = component.get("p")
        assert platform in REQUIRED, f"{key}: unknown platform {platform!r}"
        assert isinstance(component.get("unique_id"), str), f"{key}: unique_id is required"
        missing = REQUIRED[platform] - component.keys()
        assert not missing, f"{key}: missing {missing}"
        unknown = component.keys() - KNOWN[platform]
        assert not unknown, f"{key}: options {platform} does not know: {unknown}"
        _check_classes(key, platform, component)
        for entry in component.get("availability", []):
            assert set(entry) == {"topic"}, f"{key}: availability entries need a topic"
    return components


def _check_classes(key: str, platform: str, component: dict[str, object]) -> None:
    device_class = component.get("device_class")
    state_class = component.get("state_class")
    unit = component.get("unit_of_measurement")
    if state_class is not None:
        assert state_class in STATE_CLASSES, key
    if device_class == "energy":
        assert unit in ENERGY_UNITS and state_class in (None, "total", "total_increasing"), key
    if device_class == "power":
        assert unit in POWER_UNITS and state_class == "measurement", key
    if platform == "binary_sensor" and device_class is not None:
        assert device_class in {"connectivity", "problem", "power", "running"}, key
    if platform in ("sensor", "binary_sensor"):
        # HA refuses "config" for entities that only report.
        assert component.get("entity_category") in (None, "diagnostic"), key


_JINJA = ImmutableSandboxedEnvironment()


def render(template: object, payload: bytes | str) -> str:
    """An entity's template applied to a message, as HA applies it."""
    assert isinstance(template, str)
    text = payload.decode() if isinstance(payload, bytes) else payload
    try:
        value_json = json.loads(text)
    except ValueError:
        value_json = None
    return _JINJA.from_string(template).render(value=text, value_json=value_json)

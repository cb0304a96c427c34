"""Attribute values as MQTT payloads: plain text a broker's other clients read as they are."""

from __future__ import annotations

import json
from collections.abc import Mapping

from gem_envoy.host.types import AttributeValue

ONLINE = b"online"
OFFLINE = b"offline"
CLEARED = b""  # an empty retained message deletes the retained value (MQTT's convention)


def plain(value: AttributeValue | None) -> bytes:
    """42, 3.5, true, text as is; None (the attribute was removed) clears the topic."""
    if value is None:
        return CLEARED
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int | float):
        return json.dumps(value).encode()
    return value.encode("utf-8")


def state_document(
    device: Mapping[str, AttributeValue], zones: Mapping[str, Mapping[str, AttributeValue]]
) -> bytes:
    """One device's attributes, and its zones' under "zones" by zone name, as JSON."""
    document: dict[str, object] = dict(device)
    document["zones"] = {name: dict(values) for name, values in zones.items()}
    return json.dumps(document, allow_nan=False, sort_keys=True).encode()

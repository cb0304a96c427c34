"""The topic layout: where each value lives on the broker, named once.

    <prefix>/status                               the bridge: online / offline (its last will)
    <prefix>/<device>/<attribute>                 one device attribute, plain value, retained
    <prefix>/<device>/zone/<zone>/<attribute>     one zone attribute, plain value, retained
    <prefix>/<device>/state                       the device and its zones as one JSON document
    <prefix>/<device>/availability                online / offline, from the device's `online`
    <prefix>/<device>/command                     commands in: {"action": ..., ...}
    <prefix>/<device>/command/result              their answers

Devices and zones appear under their names, made safe for a topic level (see `level`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Names a device attribute cannot have on the broker: the layout uses them itself.
RESERVED = frozenset({"state", "availability", "command", "zone", "zones"})

# A topic level must not contain the separator or a wildcard; spaces and control characters
# are legal but make topics hard to type and to subscribe to, so they go too.
_UNSAFE = re.compile(r"[/+#\s\x00-\x1f\x7f]")


def level(name: str) -> str:
    """A device or zone name as one topic level: "Roof 3" -> "Roof_3"."""
    return _UNSAFE.sub("_", name) or "_"


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def commands(self) -> str:
        """The filter that receives every device's commands."""
        return f"{self.prefix}/+/command"

    def device(self, device: str) -> str:
        return f"{self.prefix}/{level(device)}"

    def attribute(self, device: str, name: str) -> str:
        return f"{self.device(device)}/{name}"

    def zone_attribute(self, device: str, zone: str, name: str) -> str:
        return f"{self.device(device)}/zone/{level(zone)}/{name}"

    def state(self, device: str) -> str:
        return f"{self.device(device)}/state"

    def availability(self, device: str) -> str:
        return f"{self.device(device)}/availability"

    def command(self, device: str) -> str:
        return f"{self.device(device)}/command"

    def result(self, device: str) -> str:
        return f"{self.device(device)}/command/result"

    def commanded_device(self, topic: str) -> str | None:
        """The device level of a command topic, or None for any other topic."""
        head, _, rest = topic.partition(f"{self.prefix}/")
        if head or not rest.endswith("/command"):
            return None
        device = rest[: -len("/command")]
        return device if device and "/" not in device else None

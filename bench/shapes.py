"""The plant shapes the issue names, as simulator options."""

from __future__ import annotations

from dataclasses import dataclass

# A fixed simulated time, so every run sees the same sun: noon on a June day, plant in UTC.
SIM_START = "2025-06-21T12:00:00+00:00"
SIM_UTC_OFFSET_H = 0.0


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    inverters: int
    cts: bool
    battery: bool
    label: str

    def simulate_args(self) -> list[str]:
        """Arguments of `gem-envoy simulate` for this plant."""
        args = ["--inverters", str(self.inverters)]
        if not self.cts:
            args.append("--no-cts")
        if self.battery:
            args.append("--battery")
        return [*args, "--start", SIM_START, "--utc-offset", str(SIM_UTC_OFFSET_H)]


SHAPES = (
    Shape("production_only", 12, cts=False, battery=False, label="production only, 12 inverters"),
    Shape("ct", 24, cts=True, battery=False, label="production + consumption CTs, 24 inverters"),
    Shape("ct_battery", 40, cts=True, battery=True, label="CTs + Encharge, 40 inverters"),
)
SHAPE_NAMES = tuple(shape.name for shape in SHAPES)
# The fleet's gateways: CTs and 12 inverters (one zone each), like `make run`'s demo plant.
FLEET_SHAPE = Shape("fleet", 12, cts=True, battery=False, label="CTs, 12 inverters")

"""What the driver's attributes are made of: their value types, and how watts and watt-hours
are rounded (the same way wherever a reading comes from: the poll, the live feed, the demo's
history)."""

from __future__ import annotations

AttributeValue = int | float | str | bool
Attributes = dict[str, AttributeValue]


def whole(value: float) -> int:
    """Round half away from zero, as a person reading a meter would, not banker's rounding."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)

"""What a plant behind an IQ Gateway can report at all, and how fast its counters can grow.

A gateway that misreads a meter, a damaged answer that still parses, or anything else at the
gateway's address can send values no plant produces: a lifetime counter of 9e18 Wh, a
negative energy, 40 MW from twelve microinverters. Stored once, such a value would stay in
every chart and (through the counter guard, which never lets a counter fall) pin the counter
for good. These bounds are generous on purpose: they refuse the impossible, never the unusual.
"""

from __future__ import annotations

from dataclasses import dataclass

# No microinverter delivers this (an IQ8H peaks near 384 VA); a bound, not an estimate.
INVERTER_MAX_W = 1_000
# Beyond any site one IQ Gateway serves (it manages at most a few hundred microinverters).
SITE_MAX_W = 1_000_000
# Fifty years at full power: no counter of a real site gets this far.
YEARS_MAX = 50
# Readings a few minutes apart can carry energy from a little before the first of them.
JUMP_SLACK_S = 600.0

POWER = (
    "production_now_w",
    "consumption_now_w",
    "net_power_w",
    "battery_now_w",
)
LIFETIME = (
    "production_lifetime_wh",
    "consumption_lifetime_wh",
    # The CTs' energy per direction (derive.CT_ENERGY): counters like the others, bounded by
    # the site (the grid and a battery are not limited by the inverters' size).
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
    "battery_charged_lifetime_wh",
    "battery_discharged_lifetime_wh",
)
TODAY = ("production_today_wh", "consumption_today_wh")


@dataclass(frozen=True, slots=True)
class PlantBounds:
    """The most one site can deliver, from its inverter count when it is known."""

    inverters: int | None = None

    def max_w(self, name: str) -> float:
        """The largest power (in W) attribute `name` can show, in either direction."""
        if name.startswith("production") and self.inverters:
            return self.inverters * INVERTER_MAX_W
        return SITE_MAX_W

    def why_impossible(self, name: str, value: float) -> str | None:
        """Why `value` cannot be a reading of `name`; None when it can."""
        if name in LIFETIME or name in TODAY:
            if value < 0:
                return "an energy counter cannot be negative"
            span, hours = ("a day", 24) if name in TODAY else ("fifty years", YEARS_MAX * 8_766)
            limit = self.max_w(name) * hours
            if value > limit:
                return f"more than this site can deliver in {span} ({limit:.3g} Wh)"
        elif name in POWER:
            limit = self.max_w(name)
            if abs(value) > limit:
                return f"beyond what this site can deliver ({limit:.3g} W)"
        elif name == "battery_soc_percent" and not 0 <= value <= 100:
            return "a state of charge is between 0 and 100 %"
        return None

    def max_gain_wh(self, name: str, elapsed_s: float) -> float:
        """The most counter `name` can grow in `elapsed_s` seconds."""
        return self.max_w(name) * (elapsed_s + JUMP_SLACK_S) / 3600.0

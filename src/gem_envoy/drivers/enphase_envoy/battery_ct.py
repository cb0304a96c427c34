"""Battery power from the CT on the battery's circuit, between reads of the batteries' own.

Sites whose IQ Combiner carries a third CT on the battery's circuit (both captured metered
battery sites do) list it in `/ivp/meters` as `storage`, and its reading comes in the same
`/ivp/meters/readings` answer as the other CTs', which a metered site reads every cycle
anyway. The contract's source of `battery_now_w` stays the batteries' own figure
(`/ivp/ensemble/power`): it is read every BATTERY_POWER_EVERY_S, and in the cycles between,
the CT's `activePower` stands in for it. At a 5 s polling interval that is one native read
a cycle fewer, a third of what the gateway spends on a battery site's polls.

The CT stands in only while it agrees with the batteries: at each of their reads, the CT's
reading of the same cycle must give their power within AGREE_W or AGREE_SHARE, sign
included (positive discharging: the CT's delivered energy is what the batteries discharged,
see `derive.CT_ENERGY`). A CT that disagrees (wired the other way round, measuring more
than the batteries) is set aside until a later read agrees again; meanwhile the batteries
are read every cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from gem_envoy.drivers.enphase_envoy.derive import STORAGE_CT, battery_state
from gem_envoy.drivers.enphase_envoy.values import Attributes, whole
from gem_envoy.envoy.models import BatteryPower, MeterConfig, MeterReading

# How often the batteries' own figure is read while the CT stands in: each read also checks
# that the CT still agrees.
BATTERY_POWER_EVERY_S = 30.0
# How close the CT must come to the batteries' figure to stand in for it. The two reads are
# a fraction of a second apart; a battery following the house's load moves less meanwhile.
AGREE_W = 100.0
AGREE_SHARE = 0.1


def storage_ct_watts(
    meters: tuple[MeterConfig, ...] | None, readings: tuple[MeterReading, ...] | None
) -> float | None:
    """The enabled storage CT's `activePower` in `readings`; None without one."""
    by_eid = {reading.eid: reading for reading in readings or ()}
    for meter in meters or ():
        if meter.state == "enabled" and meter.measurement_type == STORAGE_CT:
            reading = by_eid.get(meter.eid)
            if reading is not None:
                return reading.active_power
    return None


def batteries_watts(units: tuple[BatteryPower, ...]) -> float:
    """The batteries' own total (positive discharging), as `derive` reports it."""
    return sum(unit.real_power_mw for unit in units) / 1000.0


def battery_attributes(watts: float) -> Attributes:
    """battery_now_w and battery_state from the CT's watts."""
    return {"battery_now_w": whole(watts), "battery_state": battery_state(watts)}


@dataclass(slots=True)
class BatteryCt:
    """Whether the storage CT agreed with the batteries at their last read."""

    agrees: bool = False

    def compare(self, batteries_w: float, ct_w: float | None) -> None:
        """The batteries were read (`batteries_w`); `ct_w` is the CT's reading of the cycle."""
        tolerance = max(AGREE_W, AGREE_SHARE * abs(batteries_w))
        self.agrees = ct_w is not None and abs(ct_w - batteries_w) <= tolerance

    def stands_in(self, ct_w: float | None) -> bool:
        """Whether this cycle's CT reading (`ct_w`, None if not read) may stand in."""
        return self.agrees and ct_w is not None

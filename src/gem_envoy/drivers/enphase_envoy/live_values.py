"""A live sample (stream or livedata) as the same attributes the poll reports.

Signs follow the attribute contract, not the gateway: `net_power_w` is positive when
exporting (the gateway's grid channel is positive when importing). Watts are whole, so a
meter wobbling by a fraction of a watt does not rewrite the store every second.
"""

from __future__ import annotations

from gem_envoy.drivers.enphase_envoy.derive import Attributes, battery_state
from gem_envoy.drivers.enphase_envoy.phases import phase_attributes
from gem_envoy.drivers.enphase_envoy.values import whole
from gem_envoy.envoy.models import LivePower


def live_attributes(power: LivePower, *, has_battery: bool) -> Attributes:
    """The attributes `power` gives; the battery's only where the site has one (livedata
    reports a storage channel of zeros on every gateway)."""
    attrs: Attributes = {}
    if power.production_w is not None:
        attrs["production_now_w"] = whole(power.production_w)
    if power.consumption_w is not None:
        attrs["consumption_now_w"] = whole(power.consumption_w)
    if power.grid_w is not None:
        attrs["net_power_w"] = whole(-power.grid_w)
    if has_battery and power.battery_w is not None:
        attrs["battery_now_w"] = whole(power.battery_w)
        attrs["battery_state"] = battery_state(power.battery_w)
    if has_battery and power.soc_percent is not None:
        attrs["battery_soc_percent"] = float(power.soc_percent)
    net_export = tuple(-w for w in power.grid_phases_w)
    attrs.update(
        phase_attributes(power.production_phases_w, power.consumption_phases_w, net_export)
    )
    return attrs

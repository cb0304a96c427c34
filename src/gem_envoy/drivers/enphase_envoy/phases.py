"""Per-phase power, `<reading>_l1` to `_l3`, reported on multi-phase sites only.

The poll finds it in `/production.json?details=1` (the `lines` of the CT entries), the live
feed in the stream's or livedata's per-phase fields; both come here, so the attributes mean
the same whatever their source.
"""

from __future__ import annotations

from collections.abc import Sequence

from gem_envoy.drivers.enphase_envoy.values import Attributes, whole

PHASES = ("l1", "l2", "l3")


def phase_count(*channels: Sequence[float]) -> int:
    """How many phases the site uses: up to the last that carries a value in any channel.
    A split-phase gateway may send a third line of zeros; that phase is not in use."""
    count = 0
    for channel in channels:
        for index, watts in enumerate(channel[: len(PHASES)]):
            if watts != 0:
                count = max(count, index + 1)
    return count


def phase_attributes(
    production: Sequence[float], consumption: Sequence[float], net_export: Sequence[float]
) -> Attributes:
    """The per-phase attributes from per-phase watts (L1 first; () where a channel is
    unknown). `net_export` is signed as `net_power_w`: positive = export. Nothing on a
    single-phase site: its one phase is the total, already reported."""
    count = phase_count(production, consumption, net_export)
    if count < 2:
        return {}
    attrs: Attributes = {}
    for name, channel in (
        ("production_now_w", production),
        ("consumption_now_w", consumption),
        ("net_power_w", net_export),
    ):
        if len(channel) >= count:
            for phase, watts in zip(PHASES[:count], channel, strict=False):
                attrs[f"{name}_{phase}"] = whole(watts)
    return attrs

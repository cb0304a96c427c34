"""How a plant's power divides over its phases, in whole milliwatts.

Every per-phase view (``/production.json?details=1`` lines, ``/ivp/meters/readings`` channels,
``/ivp/livedata/status`` and ``/stream/meter``) reads the same `PhasePowers`, and shows as
aggregate the sum of its phases: working in integer milliwatts makes that sum exact, where
splitting floats would leave the views a rounding apart.

Production and battery power split equally over the phases. The home's load does not (a
three-phase house rarely balances its circuits): `LOAD_SHARES`, so that at midday one phase
can import while the others export. The grid is what balances each phase:
``load = pv + grid + storage`` per phase (grid > 0 importing, storage > 0 discharging).
Unused phases read 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plant import Snapshot

PHASE_NAMES = ("ph-a", "ph-b", "ph-c")
"""The stream's names for L1, L2, L3; every view carries three, unused ones zero."""
PHASE_MODES = {1: "single", 2: "split", 3: "three"}
LOAD_SHARES = {1: (1.0,), 2: (0.5, 0.5), 3: (0.25, 0.45, 0.30)}

MilliWatts = tuple[int, int, int]


def split_mw(total_mw: int, shares: tuple[float, ...]) -> MilliWatts:
    """``total_mw`` over the phases by ``shares``, the rounding remainder on the first phase,
    so that the parts add up to the total exactly."""
    parts = [round(total_mw * share) for share in shares]
    parts[0] += total_mw - sum(parts)
    parts += [0] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def equal_shares(phases: int) -> tuple[float, ...]:
    return (1.0 / phases,) * phases


@dataclass(frozen=True)
class PhasePowers:
    """One snapshot's powers per phase (L1, L2, L3) in mW; signs as in ``livedata``."""

    phases: int
    pv: MilliWatts
    load: MilliWatts
    storage: MilliWatts
    """Positive discharging, negative charging."""
    grid: MilliWatts
    """Positive importing, negative exporting."""

    @classmethod
    def of(cls, snap: Snapshot, phases: int) -> PhasePowers:
        equal = equal_shares(phases)
        pv = split_mw(round(snap.solar_w * 1000), equal)
        load = split_mw(round(snap.load_w * 1000), LOAD_SHARES[phases])
        storage = split_mw(round(sum(snap.battery_w) * 1000), equal)
        grid = tuple(ld - p - s for ld, p, s in zip(load, pv, storage, strict=True))
        return cls(phases, pv, load, storage, (grid[0], grid[1], grid[2]))

    @classmethod
    def zero(cls, phases: int) -> PhasePowers:
        """What a gateway without CTs measures."""
        return cls(phases, (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0))


def watts(mw: int) -> float:
    """Milliwatts as W with three decimals (the views' precision)."""
    return round(mw / 1000, 3)


def total_w(parts: MilliWatts) -> float:
    return watts(sum(parts))

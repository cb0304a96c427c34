"""The freshness probe: production that tells the simulated time it was read at.

With ``SimOptions.clock_power`` the plant's production is replaced, in every view, by
10 W per simulated second of ``time mod 1000``: a reader who sees 4321.5 W knows the value was
measured at a time ending in 432.15 s, and so how old it is when shown. Rounded to whole watts
that is a tenth of a second of resolution.

The total is kept to a multiple of 6 mW, so that it divides exactly over one, two or three
phases (see `phases`): every per-phase view shows exactly a third (or a half) of it.
"""

from __future__ import annotations

from dataclasses import replace

from .plant import Snapshot

WATTS_PER_SECOND = 10.0
PERIOD_S = 1000
_QUANTUM_MW = 6


def clock_power_w(t: float) -> float:
    mw = int(WATTS_PER_SECOND * 1000 * (t % PERIOD_S))
    return (mw - mw % _QUANTUM_MW) / 1000


def with_clock_power(snap: Snapshot) -> Snapshot:
    """``snap`` with the probe as production (the inverters' reports too); consumption and
    batteries as they were, the grid balancing the difference."""
    solar = clock_power_w(snap.time)
    grid = snap.load_w - solar - sum(snap.battery_w)
    return replace(snap, solar_w=solar, grid_w=grid, reported_w=round(solar))

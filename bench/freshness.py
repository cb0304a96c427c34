"""The age of a displayed production value, from the simulator's freshness probe.

With `clock_power` the gateway's total production is 10 W x (simulated epoch seconds mod
1000), and the simulated clock is this machine's wall clock: a value W received at wall time
t was sampled at the latest time s <= t (give or take rounding) with s mod 1000 = W / 10.

"Age as seen" is the age of the value on display at a moment: each side's timeline of
(arrival time, sample time) is a step function, sampled uniformly over the window, so a side
that updates rarely shows its old value for as long as it really does.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.stats import percentile

WATTS_PER_SECOND = 10.0
PERIOD_S = 1000.0
# An age this close to the period is a value from a moment later than its arrival (rounding
# of the watts, clocks a hair apart): a small negative age, not a 1000-second-old one.
WRAP_S = 900.0


def sample_time(arrival: float, watts: float) -> float:
    """The wall time the value `watts`, received at `arrival`, was sampled at."""
    age = (arrival % PERIOD_S - watts / WATTS_PER_SECOND) % PERIOD_S
    if age > WRAP_S:
        age -= PERIOD_S
    return arrival - age


def timeline(arrivals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(arrival time, sample time) for each (arrival time, watts), by arrival."""
    return [(t, sample_time(t, w)) for t, w in sorted(arrivals)]


def displayed_ages(
    steps: Sequence[tuple[float, float]], since: float, until: float, every_s: float = 0.1
) -> list[float]:
    """The age of the value on display at since, since + every_s, ... < until. Moments
    before the first arrival show nothing and give no sample."""
    ages: list[float] = []
    index, shown = 0, None
    n = int((until - since) / every_s)
    for k in range(n):
        moment = since + k * every_s
        while index < len(steps) and steps[index][0] <= moment:
            shown = steps[index][1]
            index += 1
        if shown is not None:
            ages.append(moment - shown)
    return ages


def summary(
    arrivals: Sequence[tuple[float, float]], since: float, until: float, every_s: float = 0.1
) -> dict[str, float]:
    """p50, p99 and max of the displayed age, and the ages at arrival over the window."""
    steps = timeline(arrivals)
    ages = displayed_ages(steps, since, until, every_s)
    at_arrival = [t - s for t, s in steps if since <= t < until]
    return {
        "p50": percentile(ages, 50),
        "p99": percentile(ages, 99),
        "max": max(ages, default=float("nan")),
        "samples": len(ages),
        "coverage": len(ages) / max(1, int((until - since) / every_s)),
        "updates": len(at_arrival),
        "age_at_arrival_p50": percentile(at_arrival, 50),
        "age_at_arrival_max": max(at_arrival, default=float("nan")),
    }

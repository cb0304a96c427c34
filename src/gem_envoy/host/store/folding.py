"""The rules that fold raw history points into rollup buckets, as pure functions.

A bucket of width w starting at s holds the points with s <= ts < s + w; s is a multiple of w
in epoch seconds (UTC). Every series gets the count, mean, minimum and maximum of its points'
values (the plain mean of the points, not weighted by time).

A lifetime counter (a name its driver declares `total`) also gets `delta`, the energy gained
in the bucket, by one rule: the sum of its positive steps between consecutive points. A step
belongs to the bucket of its later point, so a step across a gap (the device was offline)
lands, whole, in the first bucket after the gap. A step down is a reset or a reboot and
counts 0: the counter's fall is never a negative bucket, and its climb back is counted from
the lower value, so neither shows as a spike or a dip. Hence no delta is ever negative, and
the deltas of consecutive buckets add up to the series' total gain, whatever the buckets.

Hourly buckets are folded from the 5-minute ones (`merge`), which gives the same numbers as
folding the points directly: counts and deltas add, means weigh by count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .models import Rollup


def bucket_start(ts: float, width: int) -> float:
    """The start of the bucket of width `width` seconds that holds `ts`."""
    return float(math.floor(ts / width) * width)


def fold_points(
    points: Iterable[tuple[float, float]], width: int, counter: bool, previous: float | None
) -> tuple[list[Rollup], float | None]:
    """The buckets of `points` (oldest first), and the last value seen. `previous` is the
    value of the point just before the first one (None: the series starts here)."""
    buckets: list[Rollup] = []
    start: float | None = None
    count, total, low, high, delta = 0, 0.0, math.inf, -math.inf, 0.0
    for ts, value in points:
        here = bucket_start(ts, width)
        if here != start:
            if start is not None:
                buckets.append(_bucket(start, count, total, low, high, delta, counter))
            start, count, total, low, high, delta = here, 0, 0.0, math.inf, -math.inf, 0.0
        count += 1
        total += value
        low = min(low, value)
        high = max(high, value)
        if previous is not None and value > previous:
            delta += value - previous
        previous = value
    if start is not None:
        buckets.append(_bucket(start, count, total, low, high, delta, counter))
    return buckets, previous


def _bucket(
    start: float, count: int, total: float, low: float, high: float, delta: float, counter: bool
) -> Rollup:
    return Rollup(start, count, total / count, low, high, delta if counter else None)


def merge(buckets: Iterable[Rollup], width: int) -> list[Rollup]:
    """Narrower buckets (oldest first) folded into buckets of `width` seconds."""
    merged: list[Rollup] = []
    group: list[Rollup] = []
    for bucket in buckets:
        if group and bucket_start(bucket.start, width) != bucket_start(group[0].start, width):
            merged.append(_combine(group, width))
            group = []
        group.append(bucket)
    if group:
        merged.append(_combine(group, width))
    return merged


def _combine(group: list[Rollup], width: int) -> Rollup:
    count = sum(b.count for b in group)
    total = sum((b.mean or 0.0) * b.count for b in group)
    deltas = [b.delta for b in group if b.delta is not None]
    return Rollup(
        start=bucket_start(group[0].start, width),
        count=count,
        mean=total / count,
        minimum=min(b.minimum for b in group if b.minimum is not None),
        maximum=max(b.maximum for b in group if b.maximum is not None),
        delta=sum(deltas) if deltas else None,
    )

"""Charted values of one attribute over time: raw points for a day or two, rollups beyond.

Over more than 2 days (or before the raw points' retention) the chart is read from 5-minute
rollups, over more than 60 days (or before the 5-minute ones' retention) from hourly ones,
each bucket one point at its middle: its mean, or for a lifetime counter its maximum (the
counter's reading at the bucket's end, unless it was reset in the bucket: the real readings,
not a running total rebuilt from deltas, which would need an anchor the pruned raw points
no longer give). Where the rollups end (the last hour or so, not yet folded) the raw points
follow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gem_envoy.host.api.auth import current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.schemas import HistoryOut
from gem_envoy.host.store import HISTORY_RETENTION_KEY, ROLLUP_RETENTION_KEY, Store
from gem_envoy.host.types import TargetType

router = APIRouter(prefix="/api/history", tags=["history"], dependencies=[Depends(current_session)])

DEFAULT_SPAN_S = 24 * 3600.0
# A chart is a few hundred pixels wide; more points only cost bandwidth and memory.
MAX_POINTS = 2000
DAY = 86400.0
# Spans longer than these are read from 5-minute, then hourly rollups: at most 17,280
# buckets either way before downsampling, where raw points could be millions.
FIVE_MINUTES_OVER_S = 2 * DAY
HOURS_OVER_S = 60 * DAY

Timestamp = Annotated[float | None, Query(allow_inf_nan=False, description="epoch seconds")]


@router.get("/{target_type}/{target_id}/{name}")
async def history(
    target_type: TargetType,
    target_id: int,
    name: str,
    ctx: Context,
    since: Timestamp = None,
    until: Timestamp = None,
) -> HistoryOut:
    """Points with since <= ts <= until (default: the last 24 hours), at most 2000 of them:
    longer series are averaged over equal time buckets. Spans over 2 days come from the
    rollups (5-minute, then hourly over 60 days), followed by the raw points not yet folded."""
    await ctx.devices.owning_device(target_type, target_id)  # 404 for a missing target
    now = time.time()
    start = now - DEFAULT_SPAN_S if since is None else since
    resolution = await _resolution(ctx.store, start, now if until is None else until, now)
    if resolution is None:
        points = await ctx.store.history(target_type, target_id, name, start, until)
    else:
        points = await ctx.store.rolled_up_history(
            target_type, target_id, name, resolution, start, until
        )
    return HistoryOut(points=downsample(points, MAX_POINTS))


async def _resolution(store: Store, start: float, end: float, now: float) -> int | None:
    """The rollups' bucket width for a chart of [start, end]; None: raw points. A short
    span from before the raw points' retention is read from rollups too."""
    raw_kept = await store.retention_days(HISTORY_RETENTION_KEY)
    if end - start <= FIVE_MINUTES_OVER_S and start >= now - raw_kept * DAY:
        return None
    five_minutes_kept = await store.retention_days(ROLLUP_RETENTION_KEY)
    if end - start > HOURS_OVER_S or start < now - five_minutes_kept * DAY:
        return 3600
    return 300


def downsample(points: Sequence[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most `limit` points: the span is cut into `limit` equal buckets and each non-empty
    bucket becomes the mean of its timestamps and values. `points` are oldest first."""
    if len(points) <= limit:
        return list(points)
    first, last = points[0][0], points[-1][0]
    width = (last - first) / limit
    if width <= 0 or not math.isfinite(width):
        # All at one instant: no time axis to bucket along.
        return [(first, sum(value for _, value in points) / len(points))]
    sums: dict[int, tuple[float, float, int]] = {}
    for ts, value in points:
        bucket = min(limit - 1, int((ts - first) / width))
        total_ts, total_value, count = sums.get(bucket, (0.0, 0.0, 0))
        sums[bucket] = (total_ts + ts, total_value + value, count + 1)
    return [(t / n, v / n) for t, v, n in (sums[b] for b in sorted(sums))]

"""Charted values of one attribute over time."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gem_envoy.host.api.auth import current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.schemas import HistoryOut
from gem_envoy.host.types import TargetType

router = APIRouter(prefix="/api/history", tags=["history"], dependencies=[Depends(current_session)])

DEFAULT_SPAN_S = 24 * 3600.0
# A chart is a few hundred pixels wide; more points only cost bandwidth and memory.
MAX_POINTS = 2000

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
    longer series are averaged over equal time buckets."""
    await ctx.devices.owning_device(target_type, target_id)  # 404 for a missing target
    start = time.time() - DEFAULT_SPAN_S if since is None else since
    points = await ctx.store.history(target_type, target_id, name, start, until)
    return HistoryOut(points=downsample(points, MAX_POINTS))


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

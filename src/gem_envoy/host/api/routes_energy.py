"""A device's energy per local hour, day, month or year: what it produced, consumed, bought,
sold, stored and took back, and the shares of it used on site (`host/energy.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status

from gem_envoy.host import energy
from gem_envoy.host.api.auth import current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.errors import documented
from gem_envoy.host.api.schemas import EnergyBucketOut, EnergyOut, EnergyValues
from gem_envoy.host.contract import ENERGY_ROLES
from gem_envoy.host.energy_source import slot_energy

router = APIRouter(prefix="/api/energy", tags=["energy"], dependencies=[Depends(current_session)])

# A device attribute naming the plant's IANA zone; the host's own zone without it.
TIME_ZONE_ATTRIBUTE = "time_zone"

LocalDate = Annotated[dt.date | None, Query(description="local date, YYYY-MM-DD")]


@router.get("/{device_id}", responses=documented(404, 422))
async def device_energy(
    device_id: int,
    ctx: Context,
    period: Literal["hour", "day", "month", "year"] = "day",
    first: Annotated[dt.date | None, Query(alias="from", description="first local date")] = None,
    to: LocalDate = None,
) -> EnergyOut:
    """Energy per bucket of `period` from `from` to `to` (inclusive), in the plant's local
    time (its `time_zone` attribute, else the host's zone): hours (a DST change day has 23
    or 25), days, months (dates widened to whole months) or years. Defaults: hour: today;
    day: this month; month: this year; year: the last ten years, from the first with data.
    At most 3660 buckets."""
    device = await ctx.store.get_device(device_id)  # 404 for a missing device
    attributes = await ctx.store.get_attributes("device", device.id)
    named = attributes.get(TIME_ZONE_ATTRIBUTE)
    zone = energy.zone_named(named.value if named else None) or energy.host_zone()
    try:
        report = energy.span(period, first, to, dt.datetime.now(zone).date())
    except energy.EnergyRequestError as exc:
        raise HTTPException(422, str(exc)) from None
    spans = energy.buckets(report, zone)
    driver = ctx.supervisor.drivers.get(device.driver)
    roles = driver.metadata().energy_names() if driver else {}
    resolution = energy.resolution_for(spans)
    edges = [b.start_s for b in spans] + [spans[-1].end_s]
    deltas = {
        role: await slot_energy(
            ctx.store, device.id, name, resolution, edges[0], edges[-1], edges=edges
        )
        for role, name in roles.items()
    }
    parts = energy.sum_into(spans, deltas)
    if period == "year" and first is None:
        # "All years": from the first one with any energy recorded (the current one at least).
        while len(spans) > 1 and not any(v is not None for v in parts[0].energy.values()):
            spans, parts = spans[1:], parts[1:]
    if not spans:  # pragma: no cover - span() never makes an empty report
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "no buckets to report")
    return EnergyOut(
        device=device.id,
        period=period,
        from_=spans[0].start.date().isoformat(),
        to=(spans[-1].end - dt.timedelta(seconds=1)).date().isoformat(),
        time_zone=zone.key,
        roles=[role for role in ENERGY_ROLES if role in roles],
        buckets=[
            EnergyBucketOut(
                label=b.label,
                start=b.start.isoformat(),
                end=b.end.isoformat(),
                **_values(part).model_dump(),
            )
            for b, part in zip(spans, parts, strict=True)
        ],
        totals=_values(energy.total(parts)),
    )


def _values(part: energy.Totals) -> EnergyValues:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return EnergyValues(
        **{role: rounded(part.energy.get(role)) for role in ENERGY_ROLES},
        self_consumption_pct=rounded(part.self_consumption),
        self_sufficiency_pct=rounded(part.self_sufficiency),
    )

"""Health and version: the only routes that need no token, for monitors and load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from gem_envoy.host.api.context import ApiContext, Context
from gem_envoy.host.api.schemas import HealthOut, VersionOut
from gem_envoy.host.store import NotFoundError, StoreError

public = APIRouter(prefix="/api", tags=["status"])


@public.get("/health", responses={503: {"model": HealthOut}})
async def health(ctx: Context, response: Response) -> HealthOut:
    try:
        devices = await ctx.store.list_devices()
        online = 0
        for device in devices:
            online += await _is_online(ctx, device.id)
    except StoreError:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return HealthOut(status="error", devices=0, online=0)
    return HealthOut(status="ok", devices=len(devices), online=online)


async def _is_online(ctx: ApiContext, device_id: int) -> bool:
    try:
        attributes = await ctx.store.get_attributes("device", device_id)
    except NotFoundError:  # deleted since it was listed
        return False
    online = attributes.get("online")
    return online is not None and online.value is True


@public.get("/version")
async def version(ctx: Context) -> VersionOut:
    return VersionOut(version=ctx.version)

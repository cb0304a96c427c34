"""Devices and zones: listing for everyone, changes for admins.

Every change is followed by `supervisor.reload`, so running drivers pick it up at once.
A change that is two store calls (the row, then its attributes) is undone by hand if the
second call fails, so that a refused request leaves the stored state as it was.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from gem_envoy.host.api.auth import AdminSession, current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.redact import scrubbed_errors, secret_values
from gem_envoy.host.api.schemas import (
    DeviceCreate,
    DeviceOut,
    DeviceUpdate,
    ZoneCreate,
    ZoneOut,
    ZoneUpdate,
)
from gem_envoy.host.store import StoreError

router = APIRouter(prefix="/api/data", tags=["data"], dependencies=[Depends(current_session)])
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"content": {"application/json": {"example": {"error": "..."}}}}
    for code in (403, 404, 409, 422)
}

# -- devices -------------------------------------------------------------------------------


@router.get("/devices")
async def list_devices(ctx: Context) -> list[DeviceOut]:
    return [DeviceOut.of(device) for device in await ctx.store.list_devices()]


@router.get("/devices/{device_id}", responses=_ERRORS)
async def get_device(device_id: int, ctx: Context) -> DeviceOut:
    return DeviceOut.of(await ctx.store.get_device(device_id))


@router.post("/devices", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def create_device(body: DeviceCreate, _: AdminSession, ctx: Context) -> DeviceOut:
    with scrubbed_errors(secret_values(body.attributes)):
        ctx.supervisor.check_attributes(body.driver, body.attributes)
        device = await ctx.store.add_device(
            body.name,
            body.driver,
            label=body.label,
            enabled=body.enabled,
            elevated=body.elevated,
            attributes=body.attributes,
        )
    await ctx.supervisor.reload(device.id)
    return DeviceOut.of(device)


@router.put("/devices/{device_id}", responses=_ERRORS)
async def update_device(
    device_id: int, body: DeviceUpdate, _: AdminSession, ctx: Context
) -> DeviceOut:
    before = await ctx.store.get_device(device_id)
    with scrubbed_errors(secret_values(body.attributes or {})):
        ctx.supervisor.check_attributes(body.driver or before.driver, body.attributes or {})
        device = await ctx.store.update_device(
            device_id,
            name=body.name,
            label=body.label,
            driver=body.driver,
            enabled=body.enabled,
            elevated=body.elevated,
        )
        if body.attributes:
            try:
                await ctx.store.set_attributes("device", device_id, body.attributes)
            except StoreError:
                await ctx.store.update_device(
                    device_id,
                    name=before.name,
                    label=before.label,
                    driver=before.driver,
                    enabled=before.enabled,
                    elevated=before.elevated,
                )
                raise
    await ctx.supervisor.reload(device_id)
    return DeviceOut.of(device)


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_device(device_id: int, _: AdminSession, ctx: Context) -> Response:
    await ctx.store.delete_device(device_id)
    await ctx.supervisor.reload(device_id)  # stops its driver
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- zones ---------------------------------------------------------------------------------


@router.get("/zones", responses=_ERRORS)
async def list_zones(ctx: Context, device: int | None = None) -> list[ZoneOut]:
    if device is not None:
        await ctx.store.get_device(device)  # 404 for a device that does not exist
    return [ZoneOut.of(zone) for zone in await ctx.store.list_zones(device)]


@router.get("/zones/{zone_id}", responses=_ERRORS)
async def get_zone(zone_id: int, ctx: Context) -> ZoneOut:
    return ZoneOut.of(await ctx.store.get_zone(zone_id))


@router.post("/zones", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def create_zone(body: ZoneCreate, _: AdminSession, ctx: Context) -> ZoneOut:
    with scrubbed_errors(secret_values(body.attributes)):
        zone = await ctx.store.add_zone(body.device, body.name, body.address)
        if body.attributes:
            try:
                await ctx.store.set_attributes("zone", zone.id, body.attributes)
            except StoreError:
                await ctx.store.delete_zone(zone.id)
                raise
    await ctx.supervisor.reload(zone.device)
    return ZoneOut.of(zone)


@router.put("/zones/{zone_id}", responses=_ERRORS)
async def update_zone(zone_id: int, body: ZoneUpdate, _: AdminSession, ctx: Context) -> ZoneOut:
    before = await ctx.store.get_zone(zone_id)
    with scrubbed_errors(secret_values(body.attributes or {})):
        zone = await ctx.store.update_zone(zone_id, name=body.name, address=body.address)
        if body.attributes:
            try:
                await ctx.store.set_attributes("zone", zone_id, body.attributes)
            except StoreError:
                await ctx.store.update_zone(zone_id, name=before.name, address=before.address)
                raise
    await ctx.supervisor.reload(zone.device)
    return ZoneOut.of(zone)


@router.delete("/zones/{zone_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_zone(zone_id: int, _: AdminSession, ctx: Context) -> Response:
    zone = await ctx.store.get_zone(zone_id)
    await ctx.store.delete_zone(zone_id)
    await ctx.supervisor.reload(zone.device)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

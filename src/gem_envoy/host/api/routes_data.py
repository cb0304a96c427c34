"""Devices and zones: listing for everyone, changes for admins.

Every change goes through the host's DeviceService: checked by the device's driver, written
in one transaction (a refused request leaves the stored state as it was), and then reloaded
into the running driver at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from gem_envoy.host.api.auth import AdminSession, current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.errors import documented
from gem_envoy.host.api.schemas import (
    DeviceCreate,
    DeviceOut,
    DeviceUpdate,
    ZoneCreate,
    ZoneOut,
    ZoneUpdate,
)

router = APIRouter(prefix="/api/data", tags=["data"], dependencies=[Depends(current_session)])
_ERRORS = documented(403, 404, 409, 422)

# -- devices -------------------------------------------------------------------------------


@router.get("/devices")
async def list_devices(ctx: Context) -> list[DeviceOut]:
    return [DeviceOut.of(device) for device in await ctx.store.list_devices()]


@router.get("/devices/{device_id}", responses=_ERRORS)
async def get_device(device_id: int, ctx: Context) -> DeviceOut:
    return DeviceOut.of(await ctx.store.get_device(device_id))


@router.post("/devices", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def create_device(body: DeviceCreate, _: AdminSession, ctx: Context) -> DeviceOut:
    device = await ctx.devices.create(
        body.name,
        body.driver,
        label=body.label,
        enabled=body.enabled,
        elevated=body.elevated,
        attributes=body.attributes,
    )
    return DeviceOut.of(device)


@router.put("/devices/{device_id}", responses=_ERRORS)
async def update_device(
    device_id: int, body: DeviceUpdate, _: AdminSession, ctx: Context
) -> DeviceOut:
    device = await ctx.devices.update(
        device_id,
        name=body.name,
        label=body.label,
        driver=body.driver,
        enabled=body.enabled,
        elevated=body.elevated,
        attributes=body.attributes,
    )
    return DeviceOut.of(device)


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_device(device_id: int, _: AdminSession, ctx: Context) -> Response:
    await ctx.devices.delete(device_id)
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
    zone = await ctx.devices.add_zone(body.device, body.name, body.address, body.attributes)
    return ZoneOut.of(zone)


@router.put("/zones/{zone_id}", responses=_ERRORS)
async def update_zone(zone_id: int, body: ZoneUpdate, _: AdminSession, ctx: Context) -> ZoneOut:
    zone = await ctx.devices.update_zone(
        zone_id, name=body.name, address=body.address, attributes=body.attributes
    )
    return ZoneOut.of(zone)


@router.delete("/zones/{zone_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_zone(zone_id: int, _: AdminSession, ctx: Context) -> Response:
    await ctx.devices.delete_zone(zone_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

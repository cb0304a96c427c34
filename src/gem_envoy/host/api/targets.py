"""Devices and zones addressed as `{target_type}/{target_id}` in attribute and history URLs."""

from __future__ import annotations

from typing import Literal

from gem_envoy.host.api.context import ApiContext

TargetType = Literal["device", "zone"]


async def owning_device(ctx: ApiContext, target_type: TargetType, target_id: int) -> int:
    """The id of the device that is, or owns, the target; NotFoundError if it is missing."""
    if target_type == "device":
        return (await ctx.store.get_device(target_id)).id
    return (await ctx.store.get_zone(target_id)).device

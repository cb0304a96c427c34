"""Attributes of devices and zones.

Secure attributes (passwords, tokens, keys) never leave the server in clear: admins see
that they exist, with a masked value; other users do not see them at all.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response, status
from pydantic import JsonValue

from gem_envoy.host.api.auth import AdminSession, CurrentSession, current_session, is_admin
from gem_envoy.host.api.context import ApiContext, Context
from gem_envoy.host.api.errors import documented
from gem_envoy.host.api.schemas import AttributeDetail, Attributes
from gem_envoy.host.api.sessions import Session
from gem_envoy.host.secrets import mask
from gem_envoy.host.store import Attribute
from gem_envoy.host.types import AttributeValue, TargetType

router = APIRouter(
    prefix="/api/attributes", tags=["attributes"], dependencies=[Depends(current_session)]
)
_ERRORS = documented(403, 404, 422)


def _shown(value: AttributeValue | None, attribute: Attribute) -> JsonValue:
    if value is None:
        return None
    if attribute.secure:
        return mask(str(value))
    return value


def _visible(attributes: dict[str, Attribute], session: Session) -> dict[str, Attribute]:
    """What this caller may see: secure attributes only for admins (and then masked)."""
    if is_admin(session):
        return attributes
    return {name: a for name, a in attributes.items() if not a.secure}


async def _values(
    ctx: ApiContext, target_type: TargetType, target_id: int, session: Session
) -> dict[str, JsonValue]:
    attributes = await ctx.store.get_attributes(target_type, target_id)
    return {name: _shown(a.value, a) for name, a in _visible(attributes, session).items()}


@router.get("/{target_type}/{target_id}", responses=_ERRORS)
async def get_attributes(
    target_type: TargetType, target_id: int, session: CurrentSession, ctx: Context
) -> dict[str, JsonValue]:
    await ctx.devices.owning_device(target_type, target_id)
    return await _values(ctx, target_type, target_id, session)


@router.get("/{target_type}/{target_id}/details", responses=_ERRORS)
async def get_details(
    target_type: TargetType, target_id: int, session: CurrentSession, ctx: Context
) -> dict[str, AttributeDetail]:
    await ctx.devices.owning_device(target_type, target_id)
    attributes = await ctx.store.get_attributes(target_type, target_id)
    return {
        name: AttributeDetail(
            value=_shown(a.value, a),
            previous=_shown(a.previous, a),
            updated_at=a.updated_at,
            type=a.type,
        )
        for name, a in _visible(attributes, session).items()
    }


@router.put("/{target_type}/{target_id}", responses=_ERRORS)
async def set_attributes(
    target_type: TargetType,
    target_id: int,
    values: Annotated[Attributes, Body(examples=[{"poll_interval_s": 30}])],
    session: AdminSession,
    ctx: Context,
) -> dict[str, JsonValue]:
    """Set the given attributes (others are kept); answers all attributes as GET does."""
    await ctx.devices.set_attributes(target_type, target_id, values)
    return await _values(ctx, target_type, target_id, session)


@router.delete(
    "/{target_type}/{target_id}/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS
)
async def delete_attribute(
    target_type: TargetType, target_id: int, name: str, _: AdminSession, ctx: Context
) -> Response:
    await ctx.devices.delete_attribute(target_type, target_id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

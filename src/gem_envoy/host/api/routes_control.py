"""Commands to devices (the commands each driver offers are in routes_drivers)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from gem_envoy.host.api.auth import CurrentSession, current_session, is_admin
from gem_envoy.host.api.context import ApiContext, Context
from gem_envoy.host.api.errors import documented, error_response
from gem_envoy.host.api.schemas import CommandRequest
from gem_envoy.host.api.sessions import Session
from gem_envoy.host.contract import CommandRefused, CommandSpec, DeviceError
from gem_envoy.host.redact import redact, redact_text, stored_secrets
from gem_envoy.host.store import Device, StoreError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["control"], dependencies=[Depends(current_session)])

# A command that has not answered by then is reported as device trouble rather than left
# holding the client (and the device's lock) forever.
COMMAND_TIMEOUT_S = 120.0
_ERRORS = documented(400, 403, 404, 502, 504)


@router.post("/control/command", responses=_ERRORS)
async def command(body: CommandRequest, session: CurrentSession, ctx: Context) -> JSONResponse:
    """Run `action` on `device` (id or name), in `zone` if given; every other field of the
    body is an argument of the command. Answers the command's own JSON result: 400 for a
    refused request, 403 without the role it needs, 502 when the device fails, 500 for a
    bug in its driver."""
    device = await ctx.store.get_device(body.device)
    _check_role(session, device, ctx.supervisor.command_spec(device, body.action))
    secrets = await _device_secrets(ctx, device)
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT_S):
            result = await ctx.supervisor.command(
                device.id, body.action, body.arguments(), body.zone
            )
    except (CommandRefused, StoreError) as exc:
        raise type(exc)(redact_text(str(exc), secrets)) from None
    except TimeoutError:
        return error_response(status.HTTP_504_GATEWAY_TIMEOUT, "the device did not answer")
    except DeviceError as exc:  # the device's trouble, not ours: report its cause
        # Masked before it is cut: a cut can leave most of a secret behind, unrecognised.
        cause = (redact_text(exc.message, secrets).splitlines() or ["the device failed"])[0][:300]
        log.warning("device %s: command %r failed: %s", device.name, body.action, cause)
        return error_response(status.HTTP_502_BAD_GATEWAY, cause)
    except Exception:  # a bug in the driver: its traceback goes to the log, not the caller
        log.exception("device %s: command %r raised", device.name, body.action)
        return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error")
    try:
        return JSONResponse(redact(jsonable_encoder(result), secrets))
    except (TypeError, ValueError):  # not JSON at all, or NaN or infinity in it
        return error_response(status.HTTP_502_BAD_GATEWAY, "the device answered invalid JSON")


def _check_role(session: Session, device: Device, spec: CommandSpec) -> None:
    if is_admin(session):
        return
    if spec.writes:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"{spec.name} changes the device: it needs the admin role"
        )
    if device.elevated:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this device needs the admin role")


async def _device_secrets(ctx: ApiContext, device: Device) -> set[str]:
    found = stored_secrets(await ctx.store.get_attributes("device", device.id))
    for zone in await ctx.store.list_zones(device.id):
        found |= stored_secrets(await ctx.store.get_attributes("zone", zone.id))
    return found

"""Logging in and out, and who is logged in."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from gem_envoy.host.api.auth import AdminSession, CurrentSession, current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.schemas import SessionOut, TokenOut, TokenRequest, UserOut

public = APIRouter(prefix="/api", tags=["auth"])
router = APIRouter(prefix="/api", tags=["auth"], dependencies=[Depends(current_session)])

_ERROR = {"content": {"application/json": {"example": {"error": "..."}}}}


@public.post(
    "/token",
    responses={401: _ERROR, 429: _ERROR},
    summary="Log in: trade a username and password for a bearer token",
)
async def login(body: TokenRequest, request: Request, ctx: Context) -> TokenOut:
    address = request.client.host if request.client else "unknown"
    keys = (f"user:{body.username.casefold()}", f"address:{address}")
    wait = ctx.limiter.retry_after(keys)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            headers={"Retry-After": str(wait)},
        )
    stamp = ctx.limiter.record(keys)
    try:
        role = await ctx.store.check_login(body.username, body.password)
    except Exception:
        ctx.limiter.cancel(keys, stamp)  # the store failed, not the caller
        raise
    if role is None:
        # Held back a little longer after each failure, to slow guessing down further.
        await asyncio.sleep(ctx.limiter.delay(keys))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid username or password")
    ctx.limiter.succeeded(keys, stamp, forget=keys[0])
    token, session = ctx.sessions.create(body.username, role)
    return TokenOut(token=token, expires=session.expires)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke this token")
async def logout(session: CurrentSession, ctx: Context) -> Response:
    ctx.sessions.revoke(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/session", summary="Who this token belongs to, and until when")
async def whoami(session: CurrentSession) -> SessionOut:
    return SessionOut(username=session.username, role=session.role, expires=session.expires)


@router.get("/users", summary="All users and their roles (admin)")
async def list_users(_: AdminSession, ctx: Context) -> list[UserOut]:
    return [UserOut(username=name, role=role) for name, role in await ctx.store.list_users()]

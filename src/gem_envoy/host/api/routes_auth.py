"""Signing in and out, and who is signed in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse

from gem_envoy.host.api.auth import CurrentSession, current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.errors import documented
from gem_envoy.host.api.ratelimit import login_key
from gem_envoy.host.api.schemas import RevokedOut, SessionOut, TokenOut, TokenRequest

public = APIRouter(prefix="/api", tags=["auth"])
router = APIRouter(prefix="/api", tags=["auth"], dependencies=[Depends(current_session)])


@public.post(
    "/token",
    response_model=TokenOut,
    responses=documented(401, 429, 503),
    summary="Sign in: trade a username and password for a bearer token",
)
async def login(body: TokenRequest, request: Request, ctx: Context) -> TokenOut | JSONResponse:
    """After a failed sign-in, the same name from the same address must wait before it is
    heard again: nothing after the first failure, then 1 s, 2 s, 4 s ... up to 15 minutes.
    Meanwhile it gets 429 with the wait in `Retry-After` and in the body's `retry_after`.
    Other addresses, and other names, are not affected."""
    # The peer's address; a proxy's X-Forwarded-For counts only when the operator named
    # the proxy (`--forwarded-allow-ips`), and then the server has already put it here.
    address = request.client.host if request.client else "unknown"
    key = login_key(body.username, address)
    async with ctx.limiter.turn(key):
        wait = ctx.limiter.retry_after(key)
        if wait is not None:
            return JSONResponse(
                {
                    "error": f"too many failed sign-ins for this name from this address; "
                    f"try again in {wait} s",
                    "retry_after": wait,
                },
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        role = await ctx.store.check_login(body.username, body.password)
        if role is None:
            ctx.limiter.failed(key)
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid username or password")
        ctx.limiter.succeeded(key)
    token, session = await ctx.sessions.open(body.username, role)
    return TokenOut(token=token, expires=session.expires)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke this token")
async def logout(session: CurrentSession, ctx: Context) -> Response:
    await ctx.sessions.revoke(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/token/revoke-all", summary="Sign out everywhere: revoke all of your tokens")
async def revoke_all(session: CurrentSession, ctx: Context) -> RevokedOut:
    """Every token of the caller's user, this one included. An admin signs another user out
    with `DELETE /api/users/{username}/sessions`."""
    return RevokedOut(revoked=await ctx.sessions.revoke_user(session.username))


@router.get("/session", summary="Who this token belongs to, and until when")
async def whoami(session: CurrentSession) -> SessionOut:
    expires = None if session.api_key is not None else session.expires
    return SessionOut(username=session.username, role=session.role, expires=expires)

"""Who is calling: the bearer-token dependencies every protected route uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gem_envoy.host.api.context import Context
from gem_envoy.host.api.sessions import Session
from gem_envoy.host.api_keys import METRICS
from gem_envoy.host.users import ADMIN

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from `POST /api/token`, or an API key (`gem-envoy apikey create`), "
    "sent as `Authorization: Bearer <token>`.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


async def bearer_session(ctx: Context, credentials: Credentials) -> Session:
    """Whoever the token belongs to, a metrics key included."""
    if credentials is None:
        raise unauthorized("a bearer token is required")
    session = await ctx.sessions.get(credentials.credentials)
    if session is None:
        raise unauthorized("the token is invalid or has expired")
    return session


BearerSession = Annotated[Session, Depends(bearer_session)]


async def current_session(session: BearerSession) -> Session:
    if session.role == METRICS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a metrics key may read /metrics only")
    return session


CurrentSession = Annotated[Session, Depends(current_session)]


def require_admin(session: CurrentSession) -> Session:
    if session.role != ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin role")
    return session


AdminSession = Annotated[Session, Depends(require_admin)]


def require_metrics_reader(session: BearerSession) -> Session:
    """`GET /metrics`: an API key (either role), or an admin's sign-in to look at it by hand.
    A user's sign-in is for people on the page; a scraper gets a key of its own."""
    if session.api_key is None and session.role != ADMIN:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "/metrics needs an API key (gem-envoy apikey create)"
        )
    return session


MetricsReader = Annotated[Session, Depends(require_metrics_reader)]


def is_admin(session: Session) -> bool:
    return session.role == ADMIN

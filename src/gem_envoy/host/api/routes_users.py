"""Users, for admins: list, add, delete, change a role or a password, sign one out.

Every change to a user ends that user's sessions at once (the store does it in the same
transaction). The last admin can be neither deleted nor demoted (409), and passwords
shorter than 12 characters are refused (422), with the same words as `gem-envoy user`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from gem_envoy.host.api.auth import require_admin
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.errors import documented
from gem_envoy.host.api.schemas import (
    PasswordChange,
    RevokedOut,
    RoleChange,
    UserCreate,
    UserOut,
)
from gem_envoy.host.store import NotFoundError

router = APIRouter(prefix="/api/users", tags=["users"], dependencies=[Depends(require_admin)])


@router.get("", summary="All users and their roles (admin)")
async def list_users(ctx: Context) -> list[UserOut]:
    return [UserOut(username=name, role=role) for name, role in await ctx.store.list_users()]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=documented(409, 422),
    summary="Add a user (admin)",
)
async def add_user(body: UserCreate, ctx: Context) -> UserOut:
    await ctx.store.add_user(body.username, body.password, body.role)
    return UserOut(username=body.username, role=body.role)


@router.delete(
    "/{username}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(404, 409),
    summary="Delete a user and end its sessions (admin; never the last admin)",
)
async def delete_user(username: str, ctx: Context) -> Response:
    await ctx.store.delete_user(username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{username}/role",
    responses=documented(404, 409, 422),
    summary="Change a user's role and end its sessions (admin; never demotes the last admin)",
)
async def set_role(username: str, body: RoleChange, ctx: Context) -> UserOut:
    await ctx.store.set_role(username, body.role)
    return UserOut(username=username, role=body.role)


@router.put(
    "/{username}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(404, 422),
    summary="Set a user's password and end its sessions (admin)",
)
async def set_password(username: str, body: PasswordChange, ctx: Context) -> Response:
    await ctx.store.set_password(username, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{username}/sessions",
    responses=documented(404),
    summary="Sign a user out everywhere (admin)",
)
async def revoke_sessions(username: str, ctx: Context) -> RevokedOut:
    if username not in dict(await ctx.store.list_users()):
        raise NotFoundError(f"there is no user named {username!r}")
    return RevokedOut(revoked=await ctx.sessions.revoke_user(username))

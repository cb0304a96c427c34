"""The host's notice (see `host.notice`), shown by the web page above every view."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gem_envoy.host.api.auth import current_session
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.schemas import NoticeOut
from gem_envoy.host.notice import get_notice

router = APIRouter(prefix="/api", tags=["status"], dependencies=[Depends(current_session)])


@router.get("/notice")
async def notice(ctx: Context) -> NoticeOut:
    """The sentence every user should read (empty: none)."""
    return NoticeOut(notice=await get_notice(ctx.store))

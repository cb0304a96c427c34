"""Live attribute changes as Server-Sent Events.

Browsers' EventSource cannot send headers, so this route also takes the token as
`?access_token=` (see `query_token`). Secure attribute names are never sent; the stream ends
when the token expires or is revoked. Each open stream is a watcher of every device (see
`host/watchers.py`): a device's live power flows while someone has the page open. A stream
asked for some devices (`?device=ID`, repeatable) gets only their changes and their zones',
and watches only them: a client following one gateway does not keep a fleet's live.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from fastapi.security import APIKeyQuery

from gem_envoy.host.api.auth import CurrentSession
from gem_envoy.host.api.context import ApiContext, Context
from gem_envoy.host.api.sessions import Session
from gem_envoy.host.events import AttributeChange
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import NotFoundError, Store

router = APIRouter(prefix="/api", tags=["events"])

# Declared for the OpenAPI document only: `QueryTokenMiddleware` has already moved the
# parameter into the Authorization header by the time this route runs.
query_token = APIKeyQuery(
    name="access_token",
    auto_error=False,
    scheme_name="access_token",
    description="The bearer token, for clients that cannot set headers (EventSource).",
)


@router.get(
    "/events",
    response_class=StreamingResponse,
    dependencies=[Depends(query_token)],
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    session: CurrentSession,
    ctx: Context,
    device: Annotated[
        list[int] | None,
        Query(description="only these devices' changes (and their zones'); repeatable"),
    ] = None,
) -> StreamingResponse:
    """`event: attributes` with `data: {"target_type", "target_id", "values", "at"}` for each
    change; a `: keep-alive` comment every 15 s of silence. While it is open, every device
    (or each `device` asked for) counts it as a watcher: live values (a gateway's power
    every second) flow, until 60 s after the last stream closes. An unknown device: 404."""
    scope = _Scope(ctx.store, None)
    if device is not None:
        for device_id in device:
            await ctx.store.get_device(device_id)  # NotFoundError: 404
        scope = _Scope(ctx.store, frozenset(device))
    return StreamingResponse(
        _stream(ctx, session, scope),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _Scope:
    """The changes a stream asked for: every device's (`devices` None), or those of
    `devices` and of their zones (a zone's device looked up once, when it first reports)."""

    def __init__(self, store: Store, devices: Collection[int] | None) -> None:
        self.devices = devices
        self._store = store
        self._zone_devices: dict[int, int | None] = {}

    async def wants(self, change: AttributeChange) -> bool:
        if self.devices is None:
            return True
        if change.target_type == "device":
            return change.target_id in self.devices
        if change.target_id not in self._zone_devices:
            try:
                zone = await self._store.get_zone(change.target_id)
            except NotFoundError:  # deleted meanwhile: nobody's
                self._zone_devices[change.target_id] = None
            else:
                self._zone_devices[change.target_id] = zone.device
        return self._zone_devices[change.target_id] in self.devices


async def _stream(ctx: ApiContext, session: Session, scope: _Scope) -> AsyncIterator[str]:
    # A subscriber counts as a watcher of the devices whose changes it gets: while it is
    # open (and a grace period after), their drivers keep their live values flowing.
    with ctx.supervisor.watchers.watching(scope.devices):
        async for message in _messages(ctx, session, scope):
            yield message


async def _messages(ctx: ApiContext, session: Session, scope: _Scope) -> AsyncIterator[str]:
    async with ctx.events.subscribe() as queue:
        # Sent at once so the client knows it is subscribed before any change happens.
        yield ": connected\n\n"
        while await ctx.sessions.is_live(session):
            try:
                change = await asyncio.wait_for(queue.get(), ctx.keepalive_s)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            message = _message(change) if await scope.wants(change) else None
            if message is not None:
                yield message


def _message(change: AttributeChange) -> str | None:
    values = {name: v for name, v in change.values.items() if not is_secure(name)}
    if not values:
        return None
    data = {
        "target_type": change.target_type,
        "target_id": change.target_id,
        "values": values,
        "at": change.at,
    }
    try:
        text = json.dumps(data, allow_nan=False)
    except ValueError:  # NaN is not JSON; the store refuses it, so this is only a guard
        return None
    return f"event: attributes\ndata: {text}\n\n"

"""What the API needs from the rest of the host, handed to `create_app` in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, cast

from fastapi import Depends, Request

from gem_envoy.host.api.ratelimit import LoginLimiter
from gem_envoy.host.api.sessions import Sessions
from gem_envoy.host.device_service import DeviceService
from gem_envoy.host.events import EventHub
from gem_envoy.host.store import Store
from gem_envoy.host.supervisor import Supervisor

MAX_BODY_BYTES = 1024 * 1024
KEEPALIVE_S = 15.0


@dataclass
class ApiContext:
    store: Store
    supervisor: Supervisor
    devices: DeviceService  # every change of a device or zone goes through it
    events: EventHub
    version: str
    sessions: Sessions = field(default_factory=Sessions)  # kept in `store`
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    max_body_bytes: int = MAX_BODY_BYTES
    keepalive_s: float = KEEPALIVE_S  # seconds between SSE keep-alive comments

    def __post_init__(self) -> None:
        self.sessions.bind(self.store)


def get_context(request: Request) -> ApiContext:
    return cast(ApiContext, request.app.state.context)


Context = Annotated[ApiContext, Depends(get_context)]

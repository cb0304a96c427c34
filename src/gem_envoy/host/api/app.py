"""The FastAPI application: routers, error handlers, and the two ASGI middlewares."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from gem_envoy.host.api import (
    errors,
    routes_attributes,
    routes_auth,
    routes_control,
    routes_data,
    routes_discovery,
    routes_drivers,
    routes_energy,
    routes_events,
    routes_history,
    routes_metrics,
    routes_notice,
    routes_status,
    routes_users,
)
from gem_envoy.host.api.auth import CurrentSession
from gem_envoy.host.api.body_limit import BodyLimitMiddleware
from gem_envoy.host.api.context import ApiContext
from gem_envoy.host.api.query_token import QueryTokenMiddleware
from gem_envoy.host.web import driver_mounts, web_mount

OPENAPI_URL = "/api/openapi.json"
DESCRIPTION = """\
The REST API of the gem-envoy host. Get a token from `POST /api/token`, then send it as
`Authorization: Bearer <token>` on every other request (all but `/api/health` and
`/api/version` need one). `GET /api/events` also takes it as `?access_token=`, for
browsers' EventSource, which cannot set headers. Errors answer `{"error": "..."}`.
"""


def create_app(context: ApiContext) -> FastAPI:
    # No docs pages: FastAPI's load their scripts from a CDN, and this host may be offline.
    # The OpenAPI document itself is served by a route of our own, behind the token.
    app = FastAPI(
        title="gem-envoy host",
        version=context.version,
        description=DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    errors.install(app)
    for router in (
        routes_status.public,
        routes_auth.public,
        routes_auth.router,
        routes_users.router,
        routes_data.router,
        routes_attributes.router,
        routes_history.router,
        routes_energy.router,
        routes_control.router,
        routes_drivers.router,
        routes_discovery.router,
        routes_events.router,
        routes_metrics.router,
        routes_notice.router,
        _openapi_router(app),
    ):
        app.include_router(router)
    # The drivers' own pages, then the web page, after every API route: the page at `/`
    # serves whatever nothing else does (see web_mount).
    app.router.routes.extend(driver_mounts(context.supervisor.drivers))
    app.router.routes.append(web_mount())
    # Added last, so it runs first: a huge body is refused before anything reads it.
    app.add_middleware(QueryTokenMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=context.max_body_bytes)
    return app


def _openapi_router(app: FastAPI) -> APIRouter:
    router = APIRouter()

    @router.get(OPENAPI_URL, include_in_schema=False)
    async def openapi(_: CurrentSession) -> dict[str, Any]:
        return app.openapi()

    return router

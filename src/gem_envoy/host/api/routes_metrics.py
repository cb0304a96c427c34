"""`GET /metrics`: the host's Prometheus metrics (`host/metrics.py`), read from the store on
each scrape. Prometheus cannot sign in: it sends an API key (`gem-envoy apikey create NAME
--role metrics`) as its bearer token. An admin's sign-in may read it too, to look by hand."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gem_envoy.host.api.auth import MetricsReader
from gem_envoy.host.api.context import Context
from gem_envoy.host.api.errors import documented
from gem_envoy.host.metrics import render

router = APIRouter(tags=["metrics"])
# The text format every Prometheus reads (2.x and 3.x alike); what `render` writes is that.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}, **documented(401, 403)},
    summary="Prometheus metrics: every numeric attribute, and each device's polling health",
)
async def metrics(_: MetricsReader, ctx: Context) -> Response:
    supervisor = ctx.supervisor
    body = await render(ctx.store, supervisor.drivers, supervisor.runners)
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

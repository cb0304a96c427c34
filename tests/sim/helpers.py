"""Helpers shared by the simulator tests."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import httpx

from gem_envoy.sim import SimServer

CAPTURES_ENV = "GEM_ENVOY_CAPTURES"
NOON = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC).timestamp()
"""A fixed start time: noon on a June day (the tests run plants on UTC)."""
MIDNIGHT = NOON - 12 * 3600


def captures_dir() -> Path:
    """Where the shared captures are: $GEM_ENVOY_CAPTURES, else ../shared/captures."""
    env = os.environ.get(CAPTURES_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "captures"


def client(server: SimServer, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """An HTTPS client for ``server`` that does not verify the self-signed certificate."""
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    kwargs.setdefault("timeout", 10.0)
    return httpx.AsyncClient(base_url=server.url, verify=False, headers=headers, **kwargs)


async def get_stats(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/__sim/stats")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result

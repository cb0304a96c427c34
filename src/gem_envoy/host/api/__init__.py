"""The host's REST API (GEM-shaped), on FastAPI: `create_app(ApiContext(...))`."""

from gem_envoy.host.api.app import create_app
from gem_envoy.host.api.context import ApiContext
from gem_envoy.host.api.ratelimit import LoginLimiter
from gem_envoy.host.api.sessions import Session, Sessions

__all__ = ["ApiContext", "LoginLimiter", "Session", "Sessions", "create_app"]

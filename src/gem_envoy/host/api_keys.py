"""Long-lived API keys: bearer tokens for machines that cannot sign in (Prometheus).

A key is made by an admin (`gem-envoy apikey create`), shown once, and stored as its SHA-256
digest only. It carries a role of its own: `user` reads what a signed-in user reads, `metrics`
reads `GET /metrics` and nothing else. It lasts until it is revoked; the database is the
truth, so a revocation holds from the next request on, in a running service too.
"""

from __future__ import annotations

import hashlib
import secrets

from gem_envoy.host.users import USER

METRICS = "metrics"
KEY_ROLES = (USER, METRICS)
# Recognisable in a config file or a secret scanner's report; the rest is 256 random bits.
PREFIX = "gemk_"


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """How a key is stored and looked up: SHA-256, hex. A fast hash is enough for 256 random
    bits (unlike a password, nothing here can be guessed faster than by brute force)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

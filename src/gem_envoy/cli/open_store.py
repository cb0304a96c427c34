"""The host's database for a one-shot verb (device, zone, user, apikey): the store alone,
without the service around it, so that such a verb starts in a fraction of a second."""

from __future__ import annotations

from pathlib import Path

from gem_envoy.host.secrets import KeyRing
from gem_envoy.host.store import Store


async def open_store(db: str) -> Store:
    """Open (or create) the database and its key, as `Host.open` does."""
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    return await Store.open(path, KeyRing.load_or_create(path))

"""The host's SQLite store. Import from here: `from gem_envoy.host.store import Store`."""

from .attributes import AttributeWrite
from .hashing import HashingBusy
from .history_bulk import HistorySeries
from .history_methods import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_ROLLUP_RETENTION_DAYS,
    HISTORY_RETENTION_KEY,
    ROLLUP_RETENTION_KEY,
)
from .models import (
    Attribute,
    AttributeValue,
    ConflictError,
    Device,
    NotFoundError,
    Rollup,
    SchemaError,
    StoredApiKey,
    StoredSession,
    StoreError,
    ValidationError,
    Zone,
)
from .store import Store

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_ROLLUP_RETENTION_DAYS",
    "HISTORY_RETENTION_KEY",
    "ROLLUP_RETENTION_KEY",
    "Attribute",
    "AttributeValue",
    "AttributeWrite",
    "ConflictError",
    "Device",
    "HashingBusy",
    "HistorySeries",
    "NotFoundError",
    "Rollup",
    "SchemaError",
    "Store",
    "StoreError",
    "StoredApiKey",
    "StoredSession",
    "ValidationError",
    "Zone",
]

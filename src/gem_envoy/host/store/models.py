"""What the store hands out (frozen records) and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass

from gem_envoy.host.types import TARGET_TYPES, AttributeValue, TargetType

__all__ = ["TARGET_TYPES", "AttributeValue", "TargetType"]


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    name: str
    label: str
    driver: str
    enabled: bool
    elevated: bool


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    device: int
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute as stored. Secure values come back decrypted: callers mask them."""

    name: str
    type: str
    value: AttributeValue
    previous: AttributeValue | None
    updated_at: float
    secure: bool


@dataclass(frozen=True, slots=True)
class StoredSession:
    """An API session as stored: `key` is the SHA-256 of its token, never the token."""

    key: str
    username: str
    role: str
    expires: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    """An API key as stored, without its hash: the name it was given, its role, when made."""

    name: str
    role: str
    created_at: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class Rollup:
    """One bucket of a series' rollups (see `folding`): its first second, how many raw points
    it holds, their mean, minimum and maximum, and for a lifetime counter the energy it gained
    in the bucket (`delta`, never negative; None for every other series). A counter's
    mean/minimum/maximum are of the counter's readings: its maximum is its value at the
    bucket's end, unless it was reset in the bucket."""

    start: float  # epoch seconds, a multiple of the bucket's width
    count: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    delta: float | None


class StoreError(Exception):
    """Anything the store refuses or fails to do; the message is meant for people."""


class NotFoundError(StoreError):
    """The device, zone, attribute or user named does not exist."""


class ConflictError(StoreError):
    """The change conflicts with what is stored: a name already taken, the last admin."""


class ValidationError(StoreError):
    """The input is not acceptable; nothing was changed."""


class SchemaError(StoreError):
    """The database file has a schema this code cannot use."""

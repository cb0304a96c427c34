"""Request and response bodies.

Requests are validated strictly (no "yes" for true, no "12" for 12) and unknown fields are
refused, so a typo is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gem_envoy.host.store import Device, Zone

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _attribute_value(value: object) -> object:
    # Checked up front so that a wrong value gets one clear error instead of one per member
    # of the union below.
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise PydanticCustomError(
        "attribute_value", "an attribute value must be true, false, a finite number or a string"
    )


AttributeValue = Annotated[
    StrictBool | StrictInt | FiniteFloat | StrictStr, BeforeValidator(_attribute_value)
]
Attributes = dict[str, AttributeValue]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=100)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


# -- auth ----------------------------------------------------------------------------------


class TokenRequest(Strict):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    # Capped so nobody can make the server hash megabytes with scrypt.
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class TokenOut(BaseModel):
    token: str
    expires: float = Field(description="epoch seconds")


class DiscoveredOut(BaseModel):
    driver: str
    label: str
    attributes: dict[str, AttributeValue]


class SessionOut(BaseModel):
    username: str
    role: str
    expires: float | None  # None: an API key, which lasts until it is revoked


class UserOut(BaseModel):
    username: str
    role: str


# The store checks the rest (at least 12 characters, roles), with the same words as the CLI.
Password = Annotated[str, Field(min_length=1, max_length=1024)]


class UserCreate(Strict):
    username: Name
    password: Password
    role: str = "user"


class RoleChange(Strict):
    role: str


class PasswordChange(Strict):
    password: Password


class RevokedOut(BaseModel):
    revoked: int = Field(description="how many sessions ended")


# -- status --------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: str
    devices: int
    online: int


class VersionOut(BaseModel):
    version: str


class NoticeOut(BaseModel):
    notice: str


# -- devices and zones ---------------------------------------------------------------------


class DeviceOut(BaseModel):
    id: int
    name: str
    label: str
    driver: str
    enabled: bool
    elevated: bool

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.id,
            name=device.name,
            label=device.label,
            driver=device.driver,
            enabled=device.enabled,
            elevated=device.elevated,
        )


class DeviceCreate(Strict):
    name: Name
    driver: Name
    label: Text = ""
    enabled: bool = True
    elevated: bool = False
    attributes: Attributes = Field(default_factory=dict)


class DeviceUpdate(Strict):
    """Fields left out (or null) keep their value; `attributes` are set, others kept."""

    name: Name | None = None
    driver: Name | None = None
    label: Text | None = None
    enabled: bool | None = None
    elevated: bool | None = None
    attributes: Attributes | None = None


class ZoneOut(BaseModel):
    id: int
    device: int
    name: str
    address: str

    @classmethod
    def of(cls, zone: Zone) -> ZoneOut:
        return cls(id=zone.id, device=zone.device, name=zone.name, address=zone.address)


class ZoneCreate(Strict):
    device: int
    name: Name
    address: Text = ""
    attributes: Attributes = Field(default_factory=dict)


class ZoneUpdate(Strict):
    name: Name | None = None
    address: Text | None = None
    attributes: Attributes | None = None


# -- attributes, history, commands ---------------------------------------------------------


class AttributeDetail(BaseModel):
    value: JsonValue
    previous: JsonValue
    updated_at: float
    type: str


class HistoryOut(BaseModel):
    points: list[tuple[float, float]]


class CommandRow(BaseModel):
    name: str
    args: list[str]
    notes: str


class CommandRequest(BaseModel):
    """`device` and `action` pick the command; its arguments are the body's other fields
    (GEM's own shape: `{"device", "zone", "action", "level"}`), the members of an `args`
    object, or both."""

    model_config = ConfigDict(strict=True, extra="allow")

    device: Annotated[StrictInt | StrictStr, Field(description="device id or name")]
    action: Annotated[str, Field(min_length=1, max_length=100)]
    zone: int | None = None
    args: dict[str, JsonValue] | None = Field(
        default=None, description="the command's arguments, as an object"
    )

    @model_validator(mode="after")
    def _one_value_per_argument(self) -> CommandRequest:
        twice = sorted(set(self.args or {}) & set(self.model_extra or {}))
        if twice:
            raise ValueError(f"argument(s) given both in args and by name: {', '.join(twice)}")
        return self

    def arguments(self) -> dict[str, JsonValue]:
        named = dict(self.model_extra or {})
        # GEM sends `"level": null` with actions that take no level: nothing was asked.
        if named.get("level", 0) is None:
            del named["level"]
        return {**named, **(self.args or {})}


# -- drivers -------------------------------------------------------------------------------


class AttributeSpecOut(BaseModel):
    name: str
    type: str = Field(description='"int", "float", "str" or "bool"')
    description: str
    default: bool | int | float | str | None
    history: bool = Field(description="whether the host charts its values")
    minimum: int | float | None = Field(description="the smallest value the driver uses")
    secure: bool = Field(description="a secret: stored encrypted, never shown back")
    energy: str | None = Field(
        default=None, description="a lifetime counter's role in GET /api/energy, if any"
    )


class CommandSpecOut(BaseModel):
    name: str
    args: list[str]
    notes: str
    writes: bool = Field(description="changes the device: needs the admin role")


class DriverPageOut(BaseModel):
    route: str = Field(description="the page's hash route: #/<route>")
    title: str
    module: str = Field(description="URL of the ES module that exports mount(main, ctx)")


class DriverOut(BaseModel):
    """A driver's metadata, commands and pages: what a page needs to offer it."""

    name: str
    device_type: str
    status: str
    required: list[AttributeSpecOut]
    optional: list[AttributeSpecOut]
    runtime: list[AttributeSpecOut]
    zone: list[AttributeSpecOut]
    sample_config: dict[str, bool | int | float | str] = Field(
        description="an example device's attributes, secure ones masked"
    )
    commands: list[CommandSpecOut]
    pages: list[DriverPageOut]


# -- energy --------------------------------------------------------------------------------


class EnergyValues(BaseModel):
    """Energy in Wh per role (null: the device has no such counter, or nothing was recorded
    then), and the two shares in % (null where a term is missing or production, resp.
    consumption, is 0)."""

    production: float | None
    consumption: float | None
    grid_import: float | None
    grid_export: float | None
    storage_charge: float | None
    storage_discharge: float | None
    self_consumption_pct: float | None = Field(
        description="(production - grid_export) / production"
    )
    self_sufficiency_pct: float | None = Field(
        description="(consumption - grid_import) / consumption"
    )


class EnergyBucketOut(EnergyValues):
    label: str = Field(description="2026-03-29 (day), 2026-03 (month), 2026 (year), or the hour")
    start: str = Field(description="local start, ISO 8601 with its UTC offset")
    end: str = Field(description="local end (exclusive)")


class EnergyOut(BaseModel):
    device: int
    period: str
    from_: str = Field(serialization_alias="from", description="first local date covered")
    to: str = Field(description="last local date covered (inclusive)")
    time_zone: str = Field(description="the IANA zone the buckets are local to")
    roles: list[str] = Field(description="the energy roles this device has counters for")
    buckets: list[EnergyBucketOut]
    totals: EnergyValues

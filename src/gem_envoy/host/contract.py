"""What a driver is to the host, and what the host offers a driver.

A driver turns one device's protocol into attributes and command results. It never touches
storage: it reports through the `Sink` the host hands it. The host runs its `connect()` once,
then `poll()` on the driver's interval, `command()` when asked, and `disconnect()` at the end;
`set_watched()` tells it whether anyone is looking at its values now.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from gem_envoy.host.types import AttributeValue, Json

__all__ = [
    "ENERGY_ROLES",
    "AttributeSpec",
    "AttributeValue",
    "CommandRefused",
    "CommandSpec",
    "DeviceConfig",
    "DeviceError",
    "Discovered",
    "Driver",
    "DriverMetadata",
    "DriverPage",
    "DriverRegistry",
    "DriverWeb",
    "Json",
    "Reported",
    "Sink",
    "ZoneConfig",
]

RETRY_BASE_S = 1.0
RETRY_JITTER = 0.2

# What a lifetime counter measures in the energy reports (`AttributeSpec.energy`): the host
# sums each role's energy per local day, month and year without knowing the device.
ENERGY_ROLES = (
    "production",
    "consumption",
    "grid_import",
    "grid_export",
    "storage_charge",
    "storage_discharge",
)


@dataclass(frozen=True, slots=True)
class ZoneConfig:
    id: int
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """A device as its driver sees it: attributes decrypted, zones listed."""

    id: int
    name: str
    attributes: Mapping[str, AttributeValue]
    zones: tuple[ZoneConfig, ...] = ()

    def __repr__(self) -> str:  # attributes may hold secrets: never print them
        return f"DeviceConfig(id={self.id}, name={self.name!r}, zones={len(self.zones)})"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    args: tuple[str, ...]
    notes: str
    # A command that changes the device (a setting, a relay) needs the admin role on every
    # device, elevated or not; a read needs it only on elevated devices.
    writes: bool = False
    # The device attribute this command sets, from its first argument (a setting the device
    # reports back, such as a mode): a bridge can then offer it as a control beside the value.
    sets: str = ""


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str
    type: str  # "int", "float", "str", "bool"
    description: str
    default: AttributeValue | None = None
    # Charted over time: the host keeps a history point for each value reported. Counters
    # and readings say so; settings and bookkeeping (last_poll_ms, port) do not.
    history: bool = False
    # The smallest value the driver uses, for forms to hint at (smaller ones are raised).
    minimum: float | None = None
    # A secret whose name the host's rule (token, *password*, *secret*...) would not catch,
    # such as an account's e-mail address: stored encrypted, masked, admin-only all the same.
    secure: bool = False
    # The unit of a number, in SI symbols ("W", "Wh", "%", "ms", "s"), for the page, metrics
    # and bridges (a Home Assistant sensor, a Prometheus metric name); "" when it has none.
    unit: str = ""
    # A counter that only grows (lifetime energy): summed over time by its consumers (a
    # Prometheus counter, Home Assistant's total_increasing), not averaged like a reading.
    total: bool = False
    # The largest value, where there is one (a percentage's 100).
    maximum: float | None = None
    # The values a text attribute can take (a mode), for a form's or a bridge's choice list.
    choices: tuple[str, ...] = ()
    # A moment (ISO 8601 text) after which something the device needs stops working, such as
    # a credential or a certificate: watched by monitoring (the metrics give its timestamp).
    expiry: bool = False
    # The counter's role in the energy reports (one of ENERGY_ROLES), on lifetime counters in
    # Wh only (`total=True`, `unit="Wh"`): its energy per hour, day, month or year is reported.
    energy: str | None = None

    def __post_init__(self) -> None:
        # A misdeclared role would silently report wrong energy: refuse it at import.
        if self.energy is None:
            return
        if self.energy not in ENERGY_ROLES:
            raise ValueError(
                f"{self.name}: energy role {self.energy!r} is not one of {ENERGY_ROLES}"
            )
        if not (self.total and self.unit == "Wh"):
            raise ValueError(f"{self.name}: an energy role needs a lifetime counter in Wh")


@dataclass(frozen=True, slots=True)
class Discovered:
    """A device a driver found on the network by itself (`Driver.discover`): a line for
    people, and the attribute values a new device for it would be created with."""

    label: str
    attributes: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class DriverPage:
    """One page of a driver's own web pages, shown as a tab of the host's dashboard."""

    route: str  # the hash route, e.g. "overview" for #/overview
    title: str  # the tab's text
    module: str  # the ES module (relative to DriverWeb.directory) that exports mount()


@dataclass(frozen=True, slots=True)
class DriverWeb:
    """The static files of a driver's pages: the host serves `directory` at
    /drivers/<driver name>/ and adds a tab per page."""

    directory: Path
    pages: tuple[DriverPage, ...]


@dataclass(frozen=True, slots=True)
class DriverMetadata:
    """What a driver tells the host and its users about itself."""

    device_type: str
    required: tuple[AttributeSpec, ...]
    optional: tuple[AttributeSpec, ...]
    runtime: tuple[AttributeSpec, ...]
    zone: tuple[AttributeSpec, ...]
    sample_config: Mapping[str, AttributeValue] = field(default_factory=dict)
    status: str = "stable"

    def history_names(self) -> frozenset[str]:
        """The device and zone attributes whose values the host charts."""
        return frozenset(s.name for s in (*self.runtime, *self.zone) if s.history)

    def energy_names(self) -> dict[str, str]:
        """The device's lifetime counters by their energy role (`AttributeSpec.energy`)."""
        return {s.energy: s.name for s in self.runtime if s.energy is not None}

    def secure_names(self) -> frozenset[str]:
        """The attributes the driver declares secret beyond the host's rule of names."""
        specs = (*self.required, *self.optional, *self.runtime, *self.zone)
        return frozenset(s.name for s in specs if s.secure)


def _has_type(value: AttributeValue, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "bool"
    expected = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    return isinstance(value, expected.get(kind, (object,)))


class CommandRefused(Exception):
    """A command the driver will not run as asked: unknown, bad arguments, not implemented.
    The message is meant for the person who sent it."""


class DeviceError(Exception):
    """The device failed, or answered in a way the driver cannot use: the message, meant for
    people, says why. `permanent` marks a failure that retrying cannot fix (a refused
    credential, unsupported firmware): the host then retries only once per interval.

    Anything else a driver raises is a bug in it, and is reported as one."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


Reported = Mapping[str, AttributeValue | None]
"""Values a driver reports. None says the attribute is absent now (its source is no longer
read): the host removes it rather than keep showing a stale value. Its history stays."""


class Sink(Protocol):
    """Where a driver reports. Each call is one write; values absent from a call are kept."""

    async def device_attributes(self, values: Reported) -> None: ...

    async def device_live(self, values: Reported, *, history_every_s: float) -> None:
        """Samples of a live feed, faster than polling: stored and published as they come
        when they differ from what was last written; their history keeps one point per
        `history_every_s` (the driver's polling interval), the mean of its samples."""
        ...

    async def zone_attributes(self, zone_id: int, values: Reported) -> None: ...


class Driver(ABC):
    """One instance per enabled device. Subclasses set `name` and implement the rest."""

    name: ClassVar[str]

    def __init__(self, config: DeviceConfig, sink: Sink) -> None:
        self.config = config
        self.sink = sink

    @classmethod
    @abstractmethod
    def metadata(cls) -> DriverMetadata: ...

    @classmethod
    @abstractmethod
    def commands(cls) -> tuple[CommandSpec, ...]: ...

    @classmethod
    def web(cls) -> DriverWeb | None:
        """The driver's own dashboard pages, if it has any."""
        return None

    @classmethod
    async def discover(cls, timeout_s: float) -> tuple[Discovered, ...]:
        """Devices of this driver's kind that announce themselves on the network within
        `timeout_s` (mDNS...), offered when adding a device. None by default."""
        del timeout_s
        return ()

    @classmethod
    def command_spec(cls, action: str) -> CommandSpec:
        """The spec of `action`; CommandRefused naming the known commands otherwise. The one
        place where an unknown command is refused, before the device is touched."""
        known = cls.commands()
        for spec in known:
            if spec.name == action:
                return spec
        names = ", ".join(c.name for c in known)
        raise CommandRefused(f"unknown command {action!r}; the commands are: {names}")

    @classmethod
    def zone_address_warning(
        cls, address: str, device_attributes: Mapping[str, AttributeValue]
    ) -> str | None:
        """Why a zone at `address` is likely to stay empty, judged from what the device last
        reported (`device_attributes`); None when it looks fine or the driver cannot tell.
        A warning only: the zone is added all the same."""
        del address, device_attributes
        return None

    @classmethod
    def check_attributes(cls, values: Mapping[str, AttributeValue]) -> None:
        """Refuse user-set attribute values the driver could never use, before they are
        stored: raise ValueError with a message naming the attribute. The default checks
        the declared types of the metadata's required and optional attributes."""
        meta = cls.metadata()
        for spec in (*meta.required, *meta.optional):
            if spec.name in values and not _has_type(values[spec.name], spec.type):
                raise ValueError(f"{spec.name} must be of type {spec.type}")

    @abstractmethod
    def poll_interval_s(self) -> float:
        """Seconds between polls, from the device's configuration."""

    @abstractmethod
    async def connect(self) -> None:
        """Open what the device needs. Raises DeviceError on failure; the host retries."""

    @abstractmethod
    async def poll(self) -> None:
        """Read the device once and report through the sink. Raises DeviceError on failure."""

    @abstractmethod
    async def command(self, action: str, args: Mapping[str, Json], zone: ZoneConfig | None) -> Json:
        """Run one command of `commands()` (the host has checked that `action` is one).
        Raises CommandRefused for a bad request, DeviceError when the device fails."""

    @abstractmethod
    async def disconnect(self) -> None: ...

    def retry_delay_s(self, failures: int, error: BaseException) -> float:
        """Seconds before trying again after `failures` failed polls in a row, the last
        with `error`.

        Exponential from a second, with jitter so that many devices do not retry in step,
        capped at the polling interval: once a fault clears, values resume within one
        interval. A permanent DeviceError waits the full interval: retrying cannot fix it.
        """
        interval = self.poll_interval_s()
        if isinstance(error, DeviceError) and error.permanent:
            return interval
        backoff = RETRY_BASE_S * 2.0 ** max(0, failures - 1)
        return min(interval, backoff) * random.uniform(1 - RETRY_JITTER, 1.0)

    def set_watched(self, watched: bool) -> None:
        """Whether someone watches this device's values now: a page open on the host, or a
        bridge that asks for them live. A driver with a costly fast path (a live stream of
        the device's power) runs it only while watched; False comes after the last watcher
        left and a grace period passed. Told once after the driver is made, then on each
        change, from the host's event loop at any moment (between polls or during one): it
        must only take note, never block. The default ignores it."""
        del watched

    def reconfigure(self, config: DeviceConfig) -> bool:
        """Take new attributes or zones without a restart if possible; False asks the host to
        restart the driver instead."""
        return False


DriverRegistry = Mapping[str, type[Driver]]
"""The drivers a host can run, by the name a device's `driver` field uses."""


def declared_secure_names(drivers: DriverRegistry) -> frozenset[str]:
    """Every attribute name that some driver of `drivers` declares secure."""
    return frozenset(name for d in drivers.values() for name in d.metadata().secure_names())

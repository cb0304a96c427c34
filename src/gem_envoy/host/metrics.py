"""The host's Prometheus metrics: every numeric attribute of every device and zone, named and
typed from what its driver declares, and the host's own health per device.

Nothing is copied or cached: each scrape reads the store (`read_snapshot`) and hands what it
read to a `prometheus_client` collector made for that scrape (`render`). Names follow
Prometheus' conventions: an application prefix, base units in the name (watts, joules,
seconds, ratios of 0..1), `_total` on counters, timestamps as `_timestamp_seconds`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gem_envoy.host.contract import AttributeSpec, DriverRegistry
from gem_envoy.host.runner import DeviceRunner
from gem_envoy.host.secrets import is_secure
from gem_envoy.host.store import Device, NotFoundError, Store, Zone
from gem_envoy.host.types import AttributeValue

PREFIX = "gem_envoy"
# The attribute a device's gateway (or meter...) serial is kept in, where it has one.
SERIAL_ATTRIBUTE = "serial_number"
# Health the host keeps itself on every device (runner.py), whatever its driver.
ONLINE, LAST_ERROR, LAST_POLL_MS = "online", "last_error", "last_poll_ms"

DEVICE_LABELS = ("device", "driver", "serial")
ZONE_LABELS = (*DEVICE_LABELS, "zone", "address")


@dataclass(frozen=True, slots=True)
class Unit:
    suffix: str  # Prometheus' base unit, plural, as the name's last word
    factor: float  # from the driver's unit to the base unit
    strip: tuple[str, ...]  # how attribute names end when they carry this unit already


# A driver's SI symbol -> Prometheus' base unit. Energy in joules, as Prometheus' naming
# guide asks (1 Wh = 3600 J); percentages as ratios of 0..1.
UNITS: Mapping[str, Unit] = {
    "W": Unit("watts", 1.0, ("_w", "_watts")),
    "Wh": Unit("joules", 3600.0, ("_wh",)),
    "kWh": Unit("joules", 3.6e6, ("_kwh",)),
    "%": Unit("ratio", 0.01, ("_percent", "_pct")),
    "ms": Unit("seconds", 0.001, ("_ms",)),
    "s": Unit("seconds", 1.0, ("_s", "_seconds")),
    "V": Unit("volts", 1.0, ("_v", "_volts")),
    "A": Unit("amperes", 1.0, ("_a", "_amps", "_amperes")),
    "Hz": Unit("hertz", 1.0, ("_hz",)),
    "°C": Unit("celsius", 1.0, ("_c", "_celsius")),
}


Family = GaugeMetricFamily | CounterMetricFamily


@dataclass(frozen=True, slots=True)
class Target:
    """One device or zone as read for a scrape: its labels and its attribute values."""

    labels: tuple[str, ...]
    values: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class DeviceReading:
    device: Device
    target: Target
    zones: tuple[Target, ...]


async def read_snapshot(store: Store) -> list[DeviceReading]:
    """Every device and zone with its attributes, as the store has them now."""
    readings = []
    zones_by_device: dict[int, list[Zone]] = {}
    for zone in await store.list_zones():
        zones_by_device.setdefault(zone.device, []).append(zone)
    for device in await store.list_devices():
        try:
            attributes = await store.get_attributes("device", device.id)
            values = {n: a.value for n, a in attributes.items() if not is_secure(n)}
            serial = values.get(SERIAL_ATTRIBUTE)
            labels = (device.name, device.driver, serial if isinstance(serial, str) else "")
            zones = []
            for zone in zones_by_device.get(device.id, []):
                zone_attributes = await store.get_attributes("zone", zone.id)
                zone_values = {n: a.value for n, a in zone_attributes.items() if not is_secure(n)}
                zones.append(Target((*labels, zone.name, zone.address), zone_values))
        except NotFoundError:  # deleted while this scrape read it
            continue
        readings.append(DeviceReading(device, Target(labels, values), tuple(zones)))
    return readings


def metric_name(scope: str, attribute: str, unit: str) -> tuple[str, float]:
    """The metric's name (without `_total`) and the factor to its base unit, for an
    attribute of a device (`scope` "device") or a zone ("zone"). The scope keeps attribute
    names apart from the host's own metrics (a driver may well report `polls`)."""
    base = attribute.lower()
    known = UNITS.get(unit)
    words = [PREFIX, scope]
    if known is None:
        return "_".join([*words, base]), 1.0
    for ending in known.strip:
        if base.endswith(ending) and len(base) > len(ending):
            base = base[: -len(ending)]
            break
    return "_".join([*words, base, known.suffix]), known.factor


def epoch_seconds(text: str) -> float | None:
    """An ISO 8601 moment as epoch seconds; None when it is not one (UTC when unzoned)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


class Families:
    """The metric families of one scrape, made on first use. A name keeps the type and the
    label names it was first given (two drivers declaring one name differently cannot
    produce a family Prometheus would refuse)."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[Family, tuple[str, ...]]] = {}

    def add(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        label_values: tuple[str, ...],
        value: float,
        *,
        counter: bool = False,
    ) -> None:
        family, known_labels = self.declare(name, documentation, labels, counter=counter)
        if isinstance(family, CounterMetricFamily) == counter and known_labels == labels:
            family.add_metric(list(label_values), value)

    def declare(
        self, name: str, documentation: str, labels: tuple[str, ...], *, counter: bool = False
    ) -> tuple[Family, tuple[str, ...]]:
        """The family of that name, made if new: served (HELP, TYPE) even without samples."""
        found = self._families.get(name)
        if found is None:
            kind = CounterMetricFamily if counter else GaugeMetricFamily
            found = (kind(name, documentation, labels=labels), labels)
            self._families[name] = found
        return found

    def __iter__(self) -> Iterator[Metric]:
        return (family for family, _ in self._families.values())


class HostCollector(Collector):
    """One scrape's metrics, from a snapshot of the store and the runners' counts."""

    def __init__(
        self,
        readings: list[DeviceReading],
        drivers: DriverRegistry,
        runners: Mapping[int, DeviceRunner],
    ) -> None:
        self.readings = readings
        self.drivers = drivers
        self.runners = runners

    def collect(self) -> Iterator[Metric]:
        families = Families()
        for reading in self.readings:
            driver = self.drivers.get(reading.device.driver)
            meta = driver.metadata() if driver is not None else None
            device_specs = (
                {s.name: s for s in (*meta.required, *meta.optional, *meta.runtime)} if meta else {}
            )
            zone_specs = {s.name: s for s in meta.zone} if meta else {}
            self._attributes(families, "device", DEVICE_LABELS, reading.target, device_specs)
            for zone in reading.zones:
                self._attributes(families, "zone", ZONE_LABELS, zone, zone_specs)
            self._health(families, reading)
        yield from families

    def _attributes(
        self,
        families: Families,
        scope: str,
        labels: tuple[str, ...],
        target: Target,
        specs: Mapping[str, AttributeSpec],
    ) -> None:
        for name, value in sorted(target.values.items()):
            spec = specs.get(name)
            if name in (ONLINE, LAST_ERROR, LAST_POLL_MS) and scope == "device":
                continue  # the host's own health: see _health
            if isinstance(value, str):
                self._expiry(families, scope, labels, target, name, value, spec)
                continue
            if isinstance(value, float) and value != value:  # NaN: the store refuses it
                continue
            metric, factor = metric_name(scope, name, spec.unit if spec else "")
            about = spec.description if spec else f"{name}, as the device reports it"
            counter = bool(spec and spec.total)
            families.add(
                metric, about, labels, target.labels, float(value) * factor, counter=counter
            )

    @staticmethod
    def _expiry(
        families: Families,
        scope: str,
        labels: tuple[str, ...],
        target: Target,
        name: str,
        value: str,
        spec: AttributeSpec | None,
    ) -> None:
        if spec is None or not spec.expiry:
            return
        moment = epoch_seconds(value)
        if moment is None:
            return
        zone = "zone_" if scope == "zone" else ""
        families.add(
            f"{PREFIX}_{zone}expiry_timestamp_seconds",
            "When something the device needs (a credential, a certificate) stops working; "
            "the attribute label names it. Days left: (this - time()) / 86400.",
            (*labels, "attribute"),
            (*target.labels, name),
            moment,
        )

    def _health(self, families: Families, reading: DeviceReading) -> None:
        labels, values = reading.target.labels, reading.target.values
        online = values.get(ONLINE)
        if isinstance(online, bool):
            families.add(
                f"{PREFIX}_online",
                "1 when the device's last poll succeeded, else 0.",
                DEVICE_LABELS,
                labels,
                float(online),
            )
        last_poll = values.get(LAST_POLL_MS)
        if isinstance(last_poll, int | float) and not isinstance(last_poll, bool):
            families.add(
                f"{PREFIX}_last_poll_timestamp_seconds",
                "When the device was last polled successfully. Staleness: time() - this.",
                DEVICE_LABELS,
                labels,
                last_poll / 1000.0,
            )
        runner = self.runners.get(reading.device.id)
        if runner is None:  # disabled, or its driver is unknown: its values stay as stored
            return
        families.add(
            f"{PREFIX}_polls",
            "Poll cycles tried since the host started (connecting included).",
            DEVICE_LABELS,
            labels,
            runner.polls,
            counter=True,
        )
        failures = f"{PREFIX}_poll_failures"
        about = "Failed poll cycles since the host started, by kind of failure."
        families.declare(failures, about, (*DEVICE_LABELS, "kind"), counter=True)
        for kind, count in sorted(runner.failure_kinds.items()):
            families.add(
                failures, about, (*DEVICE_LABELS, "kind"), (*labels, kind), count, counter=True
            )
        families.add(
            f"{PREFIX}_poll_failures_in_a_row",
            "Failed poll cycles since the last good one.",
            DEVICE_LABELS,
            labels,
            runner.failures,
        )
        families.add(
            f"{PREFIX}_poll_lag_seconds",
            "How late the last poll cycle started after its scheduled time.",
            DEVICE_LABELS,
            labels,
            runner.last_lag_s,
        )


async def render(
    store: Store, drivers: DriverRegistry, runners: Mapping[int, DeviceRunner]
) -> bytes:
    """The text exposition of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HostCollector(await read_snapshot(store), drivers, runners))
    return generate_latest(registry)

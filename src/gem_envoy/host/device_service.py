"""The one way to change a device or a zone, for the REST API and the command line alike.

Each change is checked by the device's driver (`Driver.check_attributes`) before anything is
written, is one store transaction (the row and its attributes together, or nothing), and is
then announced through `changed`, so that whoever runs the devices picks it up: the service's
supervisor reloads the device at once; the command line bumps the generation that a running
service watches. A refused change names its cause with any secret it quoted masked out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from gem_envoy.host.contract import DriverRegistry, declared_secure_names
from gem_envoy.host.redact import scrubbed_errors, secret_values
from gem_envoy.host.secrets import declare_secure
from gem_envoy.host.store import Device, Store, ValidationError, Zone
from gem_envoy.host.types import AttributeValue, TargetType

Changed = Callable[[int], Awaitable[None]]  # called with the id of the device that changed


class DeviceService:
    def __init__(self, store: Store, drivers: DriverRegistry, changed: Changed) -> None:
        self.store = store
        self.drivers = drivers
        self._changed = changed
        declare_secure(declared_secure_names(drivers))  # before any of their values is written

    # -- devices --------------------------------------------------------------------------------

    async def create(
        self,
        name: str,
        driver: str,
        *,
        label: str = "",
        enabled: bool = True,
        elevated: bool = False,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Device:
        values = dict(attributes or {})
        with _scrubbed(values):
            self.check_attributes(driver, values)
            device = await self.store.add_device(
                name, driver, label=label, enabled=enabled, elevated=elevated, attributes=values
            )
        await self._changed(device.id)
        return device

    async def update(
        self,
        ref: int | str,
        *,
        name: str | None = None,
        label: str | None = None,
        driver: str | None = None,
        enabled: bool | None = None,
        elevated: bool | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Device:
        """Change the given fields (None keeps one) and set `attributes` (others kept)."""
        before = await self.store.get_device(ref)
        values = dict(attributes or {})
        with _scrubbed(values):
            # A device whose driver is not installed here may still be renamed or disabled.
            if driver is not None or before.driver in self.drivers:
                self.check_attributes(driver or before.driver, values)
            device = await self.store.update_device(
                before.id,
                name=name,
                label=label,
                driver=driver,
                enabled=enabled,
                elevated=elevated,
                attributes=values,
            )
        await self._changed(device.id)
        return device

    async def delete(self, ref: int | str) -> Device:
        device = await self.store.get_device(ref)
        await self.store.delete_device(device.id)
        await self._changed(device.id)  # its driver stops
        return device

    # -- zones --------------------------------------------------------------------------------

    async def add_zone(
        self,
        device_ref: int | str,
        name: str,
        address: str = "",
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Zone:
        device = await self.store.get_device(device_ref)
        values = dict(attributes or {})
        with _scrubbed(values):
            zone = await self.store.add_zone(device.id, name, address, attributes=values)
        await self._changed(device.id)
        return zone

    async def zone_address_warning(self, device_ref: int | str, address: str) -> str | None:
        """The device's driver's word on a zone address (one the device does not
        list, say), from the attributes the device last reported."""
        device = await self.store.get_device(device_ref)
        driver = self.drivers.get(device.driver)
        if driver is None or not address.strip():
            return None
        attributes = await self.store.get_attributes("device", device.id)
        values = {name: a.value for name, a in attributes.items()}
        return driver.zone_address_warning(address.strip(), values)

    async def add_zones(self, device_ref: int | str, zones: Sequence[tuple[str, str]]) -> int:
        """Add several (name, address) zones, then reload the device once; returns how
        many were added. Stops at the first refused zone, keeping those added before it."""
        device = await self.store.get_device(device_ref)
        added = 0
        try:
            for name, address in zones:
                await self.store.add_zone(device.id, name, address)
                added += 1
        finally:
            if added:
                await self._changed(device.id)
        return added

    async def update_zone(
        self,
        zone_id: int,
        *,
        name: str | None = None,
        address: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Zone:
        values = dict(attributes or {})
        with _scrubbed(values):
            zone = await self.store.update_zone(
                zone_id, name=name, address=address, attributes=values
            )
        await self._changed(zone.device)
        return zone

    async def delete_zone(self, zone_id: int) -> Zone:
        zone = await self.store.get_zone(zone_id)
        await self.store.delete_zone(zone_id)
        await self._changed(zone.device)
        return zone

    # -- attributes of either -------------------------------------------------------------------

    async def set_attributes(
        self, target_type: TargetType, target_id: int, values: Mapping[str, AttributeValue]
    ) -> int:
        """Set attributes of a device or zone (others kept); returns the owning device's id."""
        if target_type == "device":
            await self.update(target_id, attributes=values)
            return target_id
        zone = await self.update_zone(target_id, attributes=values)
        return zone.device

    async def delete_attribute(self, target_type: TargetType, target_id: int, name: str) -> int:
        """Delete one attribute (and its history); returns the owning device's id."""
        device_id = await self.owning_device(target_type, target_id)
        await self.store.delete_attribute(target_type, target_id, name)
        await self._changed(device_id)
        return device_id

    async def owning_device(self, target_type: TargetType, target_id: int) -> int:
        """The id of the device that is, or owns, the target; NotFoundError if missing."""
        if target_type == "device":
            return (await self.store.get_device(target_id)).id
        return (await self.store.get_zone(target_id)).device

    # -- checks ---------------------------------------------------------------------------------

    def check_attributes(self, driver: str, values: Mapping[str, AttributeValue]) -> None:
        """ValidationError for an unknown driver, or values it could never use."""
        driver_class = self.drivers.get(driver)
        if driver_class is None:
            known = ", ".join(sorted(self.drivers)) or "none"
            raise ValidationError(f"unknown driver {driver!r}; this host has: {known}")
        if not values:
            return
        try:
            driver_class.check_attributes(values)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


@contextmanager
def _scrubbed(values: Mapping[str, AttributeValue]) -> Iterator[None]:
    """Store errors raised inside, with the secure values being written masked out."""
    with scrubbed_errors(secret_values(values)):
        yield

"""The host's database: devices, zones, attributes, history, users, sessions, commands,
settings.

`Store` is the async API. It checks every input first (so bad input changes nothing),
then hands the work to the single writer queue or to the reader thread; the SQL itself
lives in `devices`, `attributes`, `rollups`, `accounts`, `sessions` and `config`. Passwords
are hashed on threads of their own (`hashing`), never on the database threads.

Devices, zones, attributes, commands and settings are here; history and rollups are in
`history_methods`, users, sessions and API keys in `account_methods` (parts of `Store`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType

from ..secrets import KeyRing
from . import attributes as attribute_sql  # not `attributes`: add_device has that parameter
from . import (
    config,
    devices,
    schema,
)
from .account_methods import AccountMethods
from .attributes import AttributeWrite
from .dbthread import DbThread, Job, T
from .hashing import Hasher
from .history_methods import (
    RETENTION,
    HistoryMethods,
    parse_retention,
)
from .models import (
    Attribute,
    AttributeValue,
    Device,
    NotFoundError,
    StoreError,
    ValidationError,
    Zone,
)
from .validate import (
    check_attribute_name,
    check_commands,
    check_device_name,
    check_flag,
    check_id,
    check_name,
    check_setting_value,
    check_target_type,
    check_text,
    check_time,
    check_values,
)
from .writer import Writer

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9]+")
_RESERVED_SETTINGS = (config.KEY_CHECK,)


class Store(HistoryMethods, AccountMethods):
    """Open with `await Store.open(path, keyring)`; close with `await store.close()`."""

    def __init__(self, path: Path, keyring: KeyRing, writer: DbThread, reader: DbThread) -> None:
        self._path = path
        self._keyring = keyring
        self._write_thread = writer
        self._read_thread = reader
        self._writer = Writer(writer)
        self._hasher = Hasher()
        self._counters: frozenset[str] = frozenset()
        self._closed = False

    @classmethod
    async def open(cls, path: Path, keyring: KeyRing) -> Store:
        """Open (or create) the database at `path`, migrating it to the current schema."""
        writer = DbThread("gem-store-writer", partial(schema.connect_writer, path))
        await writer.start()
        reader = DbThread("gem-store-reader", partial(schema.connect_reader, path))
        try:
            await reader.start()
        except BaseException:
            await writer.close()
            raise
        store = cls(path, keyring, writer, reader)
        try:
            await store._write(partial(config.check_keyring, keyring=keyring, db_path=path))
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        """Finish queued writes and close. The writer closes last, so that SQLite, on
        closing its final connection, checkpoints the WAL back into the database file."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._writer.close()
        finally:
            try:
                await self._read_thread.close()
            finally:
                try:
                    await self._write_thread.close()
                finally:
                    await asyncio.to_thread(self._hasher.close)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def path(self) -> Path:
        return self._path

    async def _write(self, job: Job[T]) -> T:
        return await self._writer.submit(job)

    async def _read(self, job: Job[T]) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        return await self._read_thread.transaction("BEGIN", job)

    # Devices and zones

    async def list_devices(self) -> list[Device]:
        return await self._read(devices.list_devices)

    async def get_device(self, ref: int | str) -> Device:
        """The device with id `ref`, or named `ref`; a string of digits is an id."""
        if isinstance(ref, str) and not _ID.fullmatch(ref):
            return await self._read(partial(devices.find_device, name=ref))
        device_id = check_id("device id", int(ref) if isinstance(ref, str) else ref)
        return await self._read(partial(devices.get_device, device_id=device_id))

    async def add_device(
        self,
        name: str,
        driver: str,
        *,
        label: str = "",
        enabled: bool = True,
        elevated: bool = False,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Device:
        """Create a device and its initial attributes, all in one transaction."""
        row = (
            check_device_name(name),
            check_name("driver", driver),
            check_text("label", label),
            check_flag("enabled", enabled),
            check_flag("elevated", elevated),
        )
        values = check_values(attributes or {}, allow_none=False)
        return await self._write(partial(self._insert_device, row=row, values=values))

    def _insert_device(
        self,
        conn: sqlite3.Connection,
        row: tuple[str, str, str, bool, bool],
        values: dict[str, AttributeValue | None],
    ) -> Device:
        device_id = devices.insert_device(conn, *row)
        attribute_sql.set_attributes(conn, self._keyring, ("device", device_id), values, ())
        return devices.get_device(conn, device_id)

    async def update_device(
        self,
        device_id: int,
        *,
        name: str | None = None,
        label: str | None = None,
        driver: str | None = None,
        enabled: bool | None = None,
        elevated: bool | None = None,
        attributes: Mapping[str, AttributeValue | None] | None = None,
    ) -> Device:
        """Change the given fields (None leaves a field as it is) and set `attributes`
        (a None value deletes one), all in one transaction: all of it, or nothing."""
        check_id("device id", device_id)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = check_device_name(name)
        if label is not None:
            changes["label"] = check_text("label", label)
        if driver is not None:
            changes["driver"] = check_name("driver", driver)
        if enabled is not None:
            changes["enabled"] = check_flag("enabled", enabled)
        if elevated is not None:
            changes["elevated"] = check_flag("elevated", elevated)
        values = check_values(attributes or {}, allow_none=True)
        job = partial(self._change_device, device_id=device_id, changes=changes, values=values)
        return await self._write(job)

    def _change_device(
        self,
        conn: sqlite3.Connection,
        device_id: int,
        changes: dict[str, object],
        values: dict[str, AttributeValue | None],
    ) -> Device:
        device = devices.update_device(conn, device_id, changes)
        if values:
            attribute_sql.set_attributes(conn, self._keyring, ("device", device_id), values, ())
        return device

    async def delete_device(self, device_id: int) -> None:
        """Delete the device with its zones, and the attributes and history of both."""
        check_id("device id", device_id)
        await self._write(partial(devices.delete_device, device_id=device_id))

    async def list_zones(self, device_id: int | None = None) -> list[Zone]:
        """All zones, or those of one device, in creation order."""
        if device_id is not None:
            check_id("device id", device_id)
        return await self._read(partial(devices.list_zones, device_id=device_id))

    async def get_zone(self, zone_id: int) -> Zone:
        check_id("zone id", zone_id)
        return await self._read(partial(devices.get_zone, zone_id=zone_id))

    async def add_zone(
        self,
        device_id: int,
        name: str,
        address: str = "",
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Zone:
        """Create a zone and its initial attributes in one transaction."""
        check_id("device id", device_id)
        row = (check_name("zone name", name), check_text("zone address", address))
        values = check_values(attributes or {}, allow_none=False)
        job = partial(self._insert_zone, device_id=device_id, row=row, values=values)
        return await self._write(job)

    def _insert_zone(
        self,
        conn: sqlite3.Connection,
        device_id: int,
        row: tuple[str, str],
        values: dict[str, AttributeValue | None],
    ) -> Zone:
        zone = devices.insert_zone(conn, device_id, *row)
        attribute_sql.set_attributes(conn, self._keyring, ("zone", zone.id), values, ())
        return zone

    async def update_zone(
        self,
        zone_id: int,
        *,
        name: str | None = None,
        address: str | None = None,
        attributes: Mapping[str, AttributeValue | None] | None = None,
    ) -> Zone:
        """Change the given fields and set `attributes`, all in one transaction."""
        check_id("zone id", zone_id)
        checked_name = None if name is None else check_name("zone name", name)
        checked_address = None if address is None else check_text("zone address", address)
        values = check_values(attributes or {}, allow_none=True)
        job = partial(
            self._change_zone,
            zone_id=zone_id,
            fields=(checked_name, checked_address),
            values=values,
        )
        return await self._write(job)

    def _change_zone(
        self,
        conn: sqlite3.Connection,
        zone_id: int,
        fields: tuple[str | None, str | None],
        values: dict[str, AttributeValue | None],
    ) -> Zone:
        zone = devices.update_zone(conn, zone_id, *fields)
        if values:
            attribute_sql.set_attributes(conn, self._keyring, ("zone", zone_id), values, ())
        return zone

    async def delete_zone(self, zone_id: int) -> None:
        """Delete the zone with its attributes and history."""
        check_id("zone id", zone_id)
        await self._write(partial(devices.delete_zone, zone_id=zone_id))

    # Attributes

    async def set_attributes(
        self,
        target_type: str,
        target_id: int,
        values: Mapping[str, AttributeValue | None],
        *,
        history: Collection[str] = (),
        points: Sequence[tuple[str, float, float]] = (),
    ) -> None:
        """Set several attributes of a device or zone in one transaction.

        A value of None deletes that attribute (its history stays). Secure names are
        stored encrypted. The int and float values of the names in `history` (those the
        driver declares as charted) are also added to the history, as are the
        (name, timestamp, value) `points` given (a live feed's means, see `live_history`).
        """
        write = self.attribute_write(target_type, target_id, values, history, points)
        job = partial(
            attribute_sql.set_attributes,
            keyring=self._keyring,
            target=write.target,
            values=write.values,
            history=write.history,
            points=write.points,
        )
        await self._write(job)

    def attribute_write(
        self,
        target_type: str,
        target_id: int,
        values: Mapping[str, AttributeValue | None],
        history: Collection[str] = (),
        points: Sequence[tuple[str, float, float]] = (),
    ) -> AttributeWrite:
        """`set_attributes`'s arguments checked now (ValidationError), to be written later
        with others in one transaction by `write_attributes`."""
        return AttributeWrite(
            (check_target_type(target_type), check_id("target id", target_id)),
            check_values(values, allow_none=True),
            frozenset(history),
            [(check_attribute_name(n), check_time("timestamp", t), v) for n, t, v in points],
        )

    def write_attributes(
        self, writes: Sequence[AttributeWrite]
    ) -> asyncio.Future[dict[int, NotFoundError]]:
        """Queue `writes` (from `attribute_write`) as one transaction, in order: all of them
        or, on a crash, none. A device or zone deleted meanwhile is skipped; the future's
        result holds the NotFoundError of each write skipped, by its index. Queued at once,
        so that a caller cancelled meanwhile still has its writes stored."""
        job = partial(attribute_sql.write_all, keyring=self._keyring, writes=list(writes))
        return self._writer.enqueue(job)

    async def delete_attribute(self, target_type: str, target_id: int, name: str) -> None:
        """Delete one attribute and its history; NotFoundError if it does not exist."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(
            attribute_sql.delete_attribute, target=target, name=check_attribute_name(name)
        )
        await self._write(job)

    async def get_attributes(self, target_type: str, target_id: int) -> dict[str, Attribute]:
        """All attributes of a device or zone. Secure values come back decrypted."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(attribute_sql.get_attributes, keyring=self._keyring, target=target)
        return await self._read(job)

    async def get_attributes_of(
        self, targets: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], dict[str, Attribute]]:
        """The attributes of several devices or zones, read together in one trip to the
        reader thread (a device and its zones: one call, not one per zone). A target that
        does not exist is left out of the answer."""
        checked = [(check_target_type(t), check_id("target id", i)) for t, i in targets]
        job = partial(attribute_sql.get_attributes_of, keyring=self._keyring, targets=checked)
        return await self._read(job)

    # Driver commands and settings

    async def reconcile_commands(
        self, driver: str, commands: Sequence[tuple[str, Sequence[str], str]]
    ) -> None:
        """Make the stored commands of `driver` exactly `commands` (name, args, notes)."""
        job = partial(
            config.reconcile_commands,
            driver=check_name("driver", driver),
            commands=check_commands(commands),
        )
        await self._write(job)

    async def list_commands(self, driver: str) -> list[tuple[str, list[str], str]]:
        """(name, args, notes) of the commands of `driver`, by name."""
        job = partial(config.list_commands, driver=check_name("driver", driver))
        return await self._read(job)

    async def get_setting(self, key: str, default: str) -> str:
        found = await self._read(partial(config.get_setting, key=check_name("setting", key)))
        return default if found is None else found

    async def set_setting(self, key: str, value: str) -> None:
        key = check_name("setting", key)
        if key in _RESERVED_SETTINGS:
            raise ValidationError(f"setting {key!r} is managed by the store")
        value = check_setting_value(key, value)
        if key in RETENTION:
            parse_retention(key, value)
        await self._write(partial(config.set_setting, key=key, value=value))

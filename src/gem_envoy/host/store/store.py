"""The host's database: devices, zones, attributes, history, users, sessions, commands,
settings.

`Store` is the async API. It checks every input first (so bad input changes nothing),
then hands the work to the single writer queue or to the reader thread; the SQL itself
lives in `devices`, `attributes`, `rollups`, `accounts`, `sessions` and `config`. Passwords
are hashed on threads of their own (`hashing`), never on the database threads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType

from ..secrets import KeyRing
from . import (
    accounts,
    api_keys,
    config,
    devices,
    energy_sums,
    history_bulk,
    rollups,
    schema,
    sessions,
)
from . import attributes as attribute_sql  # not `attributes`: add_device has that parameter
from .dbthread import DbThread, Job, T
from .hashing import Hasher
from .history_bulk import HistorySeries
from .models import (
    Attribute,
    AttributeValue,
    Device,
    Rollup,
    StoredApiKey,
    StoredSession,
    StoreError,
    ValidationError,
    Zone,
)
from .validate import (
    check_attribute_name,
    check_commands,
    check_device_name,
    check_digest,
    check_flag,
    check_id,
    check_key_role,
    check_name,
    check_password,
    check_role,
    check_setting_value,
    check_target_type,
    check_text,
    check_values,
)
from .writer import Writer

log = logging.getLogger(__name__)

HISTORY_RETENTION_KEY = "history_retention_days"
DEFAULT_RETENTION_DAYS = 10
ROLLUP_RETENTION_KEY = "rollup_5min_retention_days"  # hourly rollups are kept forever
DEFAULT_ROLLUP_RETENTION_DAYS = 365
_RETENTION = {
    HISTORY_RETENTION_KEY: DEFAULT_RETENTION_DAYS,
    ROLLUP_RETENTION_KEY: DEFAULT_ROLLUP_RETENTION_DAYS,
}
_DAY = 86400.0
_ID = re.compile(r"[0-9]+")
_RESERVED_SETTINGS = (config.KEY_CHECK,)


class Store:
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
        target = (check_target_type(target_type), check_id("target id", target_id))
        checked = check_values(values, allow_none=True)
        job = partial(
            attribute_sql.set_attributes,
            keyring=self._keyring,
            target=target,
            values=checked,
            history=frozenset(history),
            points=[
                (check_attribute_name(n), _check_time("timestamp", t), v) for n, t, v in points
            ],
        )
        await self._write(job)

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

    async def history(
        self,
        target_type: str,
        target_id: int,
        name: str,
        since: float,
        until: float | None = None,
    ) -> list[tuple[float, float]]:
        """(timestamp, value) points with since <= timestamp <= until, oldest first."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(
            attribute_sql.history,
            target=target,
            name=check_attribute_name(name),
            since=_check_time("since", since),
            until=None if until is None else _check_time("until", until),
        )
        return await self._read(job)

    async def add_history(self, series: Iterable[HistorySeries]) -> int:
        """Insert many past points at once, in one transaction (all or none): generated or
        imported history, beside what polls record. Returns how many points were added.

        Points are checked as they are written (targets exist, names are valid and not
        secure, timestamps and values finite); `series` may be a generator, so that a long
        backfill is never held in memory whole.
        """
        return await self._write(partial(history_bulk.add_history, series=series))

    async def latest_history(self, target_type: str, target_id: int) -> float | None:
        """When the newest history point of a device or zone was recorded (None: never)."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        return await self._read(partial(history_bulk.latest_history, target=target))

    async def prune_history(self, now: float | None = None) -> int:
        """Delete history points older than the retention setting, but none before it is
        rolled up; returns how many. In jobs of a bounded size, so that polls never wait."""
        now = time.time() if now is None else _check_time("now", now)
        days = await self.retention_days(HISTORY_RETENTION_KEY)
        return await self._prune(partial(rollups.prune_raw, cutoff=now - days * _DAY))

    async def prune_rollups(self, now: float | None = None) -> int:
        """Delete 5-minute rollups older than their retention setting (but none before its
        hour is folded); returns how many. Hourly rollups are kept forever."""
        now = time.time() if now is None else _check_time("now", now)
        days = await self.retention_days(ROLLUP_RETENTION_KEY)
        return await self._prune(partial(rollups.prune_five_minutes, cutoff=now - days * _DAY))

    async def _prune(self, job: Job[int]) -> int:
        removed = 0
        while (batch := await self._write(job)) > 0:
            removed += batch
            if batch < rollups.PRUNE_ROWS:
                break
        return removed

    async def retention_days(self, key: str) -> float:
        """The days of history (`HISTORY_RETENTION_KEY`) or of 5-minute rollups
        (`ROLLUP_RETENTION_KEY`) kept, as set or by default."""
        default = _RETENTION[key]
        text = await self.get_setting(key, str(default))
        try:
            return _parse_retention(key, text)
        except ValidationError as exc:
            # set_setting refuses such values, so the row was edited by hand; keep running.
            log.warning("%s; keeping %d days", exc, default)
            return default

    # Rollups (see `rollups` and `folding`)

    def declare_counters(self, names: Collection[str]) -> None:
        """The attribute names that are lifetime counters (their drivers declare them
        `total`): their rollups add up energy per bucket. Before the first `roll_up`."""
        self._counters = frozenset(names)

    async def roll_up(self, now: float | None = None) -> int:
        """One pass: fold every series' complete buckets that are not yet folded, one
        bounded batch per writer job. Returns how many buckets were written."""
        now = time.time() if now is None else _check_time("now", now)
        until = rollups.complete_until(now)
        written = 0
        for series in await self._read(rollups.list_series):
            job = partial(
                rollups.fold_batch, series=series, counter=series[2] in self._counters, until=until
            )
            finished = False
            while not finished:
                count, finished = await self._write(job)
                written += count
        return written

    async def rollups(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> list[Rollup]:
        """The buckets of `resolution_s` (300 or 3600) seconds starting at since <= start <
        until, oldest first. Buckets without points are absent."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(
            rollups.read_rollups,
            target=target,
            name=check_attribute_name(name),
            resolution=_check_resolution(resolution_s),
            since=_check_time("since", since),
            until=None if until is None else _check_time("until", until),
        )
        return await self._read(job)

    async def rolled_up_history(
        self,
        target_type: str,
        target_id: int,
        name: str,
        resolution_s: int,
        since: float,
        until: float | None = None,
    ) -> list[tuple[float, float]]:
        """A long chart's (timestamp, value) points, oldest first, in one read: a point per
        bucket of `resolution_s` seconds (its middle; its mean, or a counter's maximum) up to
        where the series is folded, then the raw points after; since <= timestamp <= until."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(
            rollups.rolled_up_history,
            target=target,
            name=check_attribute_name(name),
            resolution=_check_resolution(resolution_s),
            since=_check_time("since", since),
            until=None if until is None else _check_time("until", until),
        )
        return await self._read(job)

    async def rolled_up_until(
        self, target_type: str, target_id: int, name: str, resolution_s: int
    ) -> float | None:
        """Where the series' buckets of `resolution_s` end: every bucket before is final,
        the points from there on are raw only. None: nothing folded yet."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        job = partial(
            rollups.rolled_up_until,
            target=target,
            name=check_attribute_name(name),
            resolution=_check_resolution(resolution_s),
        )
        return await self._read(job)

    async def counter_energy(
        self, target_type: str, target_id: int, name: str, resolution_s: int, edges: Sequence[float]
    ) -> energy_sums.CounterEnergy:
        """A lifetime counter's rollup energy summed per bucket between consecutive `edges`,
        and its raw readings after the rollups, in one read (`energy_sums`)."""
        target = (check_target_type(target_type), check_id("target id", target_id))
        times = [_check_time("edge", edge) for edge in edges]
        if len(times) < 2 or times != sorted(times):
            raise ValidationError("energy buckets need two or more ascending edges")
        job = partial(
            energy_sums.counter_energy,
            target=target,
            name=check_attribute_name(name),
            resolution=_check_resolution(resolution_s),
            edges=times,
        )
        return await self._read(job)

    # Users

    async def add_user(self, username: str, password: str, role: str) -> None:
        username = check_name("username", username)
        password = check_password(password)
        role = check_role(role)
        password_hash = await self._hash(password)
        await self._write(
            partial(accounts.add_user, username=username, password_hash=password_hash, role=role)
        )

    async def set_password(self, username: str, password: str) -> int:
        """Set a new password; the user's sessions end. Returns how many did."""
        username = check_name("username", username)
        password_hash = await self._hash(check_password(password))
        job = partial(accounts.set_password, username=username, password_hash=password_hash)
        return await self._write(job)

    async def set_role(self, username: str, role: str) -> int:
        """Change the user's role (never the last admin's); a change ends the user's
        sessions. Returns how many ended."""
        job = partial(
            accounts.set_role, username=check_name("username", username), role=check_role(role)
        )
        return await self._write(job)

    async def delete_user(self, username: str) -> int:
        """Delete the user (never the last admin) and end its sessions; returns how many."""
        return await self._write(
            partial(accounts.delete_user, username=check_name("username", username))
        )

    async def check_login(self, username: str, password: str) -> str | None:
        """The user's role if the password is right, else None. Raises `HashingBusy` when
        too many checks are already running or waiting."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise ValidationError("username and password must be strings")
        found = await self._read(partial(accounts.find_login, username=username))
        stored, role = found if found is not None else (accounts.DUMMY_HASH, None)
        if self._closed:
            raise StoreError("the store is closed")
        matches = await self._hasher.verify(password, stored)
        return role if matches else None

    async def list_users(self) -> list[tuple[str, str]]:
        """(username, role) pairs, by username."""
        return await self._read(accounts.list_users)

    async def _hash(self, password: str) -> str:
        if self._closed:
            raise StoreError("the store is closed")
        return await self._hasher.hash(password)

    # Sessions of the API (keyed by the SHA-256 of the token; the token is never stored)

    def add_session(
        self, key: str, username: str, role: str, expires: float, *, now: float
    ) -> asyncio.Future[None]:
        """Queue a new session, pruning expired ones. Queued at once, not when awaited, so
        that a session made and then revoked is written in that order."""
        job = partial(
            sessions.add_session,
            key=key,
            username=username,
            role=check_role(role),
            expires=expires,
            now=now,
        )
        return self._writer.enqueue(job)

    async def get_session(self, key: str) -> StoredSession | None:
        """The stored session, expired or not: the caller's clock decides."""
        return await self._read(partial(sessions.get_session, key=key))

    async def delete_session(self, key: str) -> None:
        await self._write(partial(sessions.delete_session, key=key))

    async def delete_user_sessions(self, username: str) -> int:
        """End every session of the user; returns how many there were."""
        return await self._write(partial(sessions.delete_user_sessions, username=username))

    async def prune_sessions(self, now: float | None = None) -> int:
        """Delete expired sessions; returns how many."""
        now = time.time() if now is None else _check_time("now", now)
        return await self._write(partial(sessions.prune_sessions, now=now))

    # API keys (keyed by name, found by the SHA-256 of the key; the key is never stored)

    async def add_api_key(self, name: str, key_hash: str, role: str) -> StoredApiKey:
        """Store a new key's digest; ConflictError when the name is taken."""
        job = partial(
            api_keys.add_api_key,
            name=check_name("API key name", name),
            key_hash=check_digest(key_hash),
            role=check_key_role(role),
            now=time.time(),
        )
        return await self._write(job)

    async def find_api_key(self, key_hash: str) -> StoredApiKey | None:
        return await self._read(partial(api_keys.find_api_key, key_hash=key_hash))

    async def list_api_keys(self) -> list[StoredApiKey]:
        return await self._read(api_keys.list_api_keys)

    async def delete_api_key(self, name: str) -> None:
        """Revoke a key: NotFoundError when there is none of that name."""
        name = check_name("API key name", name)
        await self._write(partial(api_keys.delete_api_key, name=name))

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
        if key in _RETENTION:
            _parse_retention(key, value)
        await self._write(partial(config.set_setting, key=key, value=value))


def _check_time(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{what} must be a timestamp in seconds, not {value!r}")
    if not math.isfinite(value):
        raise ValidationError(f"{what} must be a finite timestamp")
    return float(value)


def _check_resolution(value: object) -> int:
    if isinstance(value, bool) or value not in rollups.RESOLUTIONS:
        raise ValidationError(f"rollups are by 300 or 3600 seconds, not {value!r}")
    assert isinstance(value, int)
    return value


def _parse_retention(key: str, text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and days > 0):
        raise ValidationError(f"{key} must be a positive number of days, not {text!r}")
    return days

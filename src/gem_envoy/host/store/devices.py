"""SQL for devices and zones. Each function runs on a database thread, inside the
transaction the caller opened, and takes input already checked by `validate`."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from .models import ConflictError, Device, NotFoundError, Zone

_DEVICE_COLUMNS = "id, name, label, driver, enabled, elevated"
_ZONE_COLUMNS = "id, device_id, name, address"
# The only columns update_device may touch: the f-string below builds SQL from them.
_UPDATABLE = ("name", "label", "driver", "enabled", "elevated")


def _device(row: Any) -> Device:
    id_, name, label, driver, enabled, elevated = row
    return Device(id_, name, label, driver, bool(enabled), bool(elevated))


def _zone(row: Any) -> Zone:
    id_, device_id, name, address = row
    return Zone(id_, device_id, name, address)


def list_devices(conn: sqlite3.Connection) -> list[Device]:
    rows = conn.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY id")
    return [_device(row) for row in rows]


def get_device(conn: sqlite3.Connection, device_id: int) -> Device:
    row = conn.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (device_id,))
    found = row.fetchone()
    if found is None:
        raise NotFoundError(f"there is no device with id {device_id}")
    return _device(found)


def find_device(conn: sqlite3.Connection, name: str) -> Device:
    row = conn.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE name = ?", (name,))
    found = row.fetchone()
    if found is None:
        raise NotFoundError(f"there is no device named {name!r}")
    return _device(found)


def insert_device(
    conn: sqlite3.Connection, name: str, driver: str, label: str, enabled: bool, elevated: bool
) -> int:
    _check_device_name_free(conn, name)
    cursor = conn.execute(
        "INSERT INTO devices (name, label, driver, enabled, elevated, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (name, label, driver, enabled, elevated, time.time()),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def update_device(conn: sqlite3.Connection, device_id: int, changes: dict[str, object]) -> Device:
    current = get_device(conn, device_id)
    if set(changes) - set(_UPDATABLE):
        raise ValueError(f"not device columns: {sorted(set(changes) - set(_UPDATABLE))}")
    name = changes.get("name")
    if isinstance(name, str) and name != current.name:
        _check_device_name_free(conn, name)
    columns = [column for column in _UPDATABLE if column in changes]
    if columns:
        assignments = ", ".join(f"{column} = ?" for column in columns)
        values = [changes[column] for column in columns]
        conn.execute(f"UPDATE devices SET {assignments} WHERE id = ?", (*values, device_id))
    return get_device(conn, device_id)


def delete_device(conn: sqlite3.Connection, device_id: int) -> None:
    # Zones go by ON DELETE CASCADE; attributes and history by the schema's triggers.
    if conn.execute("DELETE FROM devices WHERE id = ?", (device_id,)).rowcount == 0:
        raise NotFoundError(f"there is no device with id {device_id}")


def list_zones(conn: sqlite3.Connection, device_id: int | None) -> list[Zone]:
    if device_id is None:
        rows = conn.execute(f"SELECT {_ZONE_COLUMNS} FROM zones ORDER BY id")
    else:
        get_device(conn, device_id)
        rows = conn.execute(
            f"SELECT {_ZONE_COLUMNS} FROM zones WHERE device_id = ? ORDER BY id", (device_id,)
        )
    return [_zone(row) for row in rows]


def get_zone(conn: sqlite3.Connection, zone_id: int) -> Zone:
    row = conn.execute(f"SELECT {_ZONE_COLUMNS} FROM zones WHERE id = ?", (zone_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"there is no zone with id {zone_id}")
    return _zone(row)


def insert_zone(conn: sqlite3.Connection, device_id: int, name: str, address: str) -> Zone:
    get_device(conn, device_id)
    _check_zone_name_free(conn, device_id, name)
    cursor = conn.execute(
        "INSERT INTO zones (device_id, name, address) VALUES (?, ?, ?)",
        (device_id, name, address),
    )
    assert cursor.lastrowid is not None
    return get_zone(conn, cursor.lastrowid)


def update_zone(
    conn: sqlite3.Connection, zone_id: int, name: str | None, address: str | None
) -> Zone:
    current = get_zone(conn, zone_id)
    if name is not None and name != current.name:
        _check_zone_name_free(conn, current.device, name)
        conn.execute("UPDATE zones SET name = ? WHERE id = ?", (name, zone_id))
    if address is not None:
        conn.execute("UPDATE zones SET address = ? WHERE id = ?", (address, zone_id))
    return get_zone(conn, zone_id)


def delete_zone(conn: sqlite3.Connection, zone_id: int) -> None:
    if conn.execute("DELETE FROM zones WHERE id = ?", (zone_id,)).rowcount == 0:
        raise NotFoundError(f"there is no zone with id {zone_id}")


def check_target(conn: sqlite3.Connection, target_type: str, target_id: int) -> None:
    """NotFoundError unless the device or zone exists."""
    if target_type == "device":
        get_device(conn, target_id)
    else:
        get_zone(conn, target_id)


def _check_device_name_free(conn: sqlite3.Connection, name: str) -> None:
    # The writer is the only writer and holds BEGIN IMMEDIATE, so check-then-insert is safe;
    # the UNIQUE constraint stays as the last line of defence.
    if conn.execute("SELECT 1 FROM devices WHERE name = ?", (name,)).fetchone():
        raise ConflictError(f"a device named {name!r} already exists")


def _check_zone_name_free(conn: sqlite3.Connection, device_id: int, name: str) -> None:
    found = conn.execute(
        "SELECT 1 FROM zones WHERE device_id = ? AND name = ?", (device_id, name)
    ).fetchone()
    if found:
        raise ConflictError(f"device {device_id} already has a zone named {name!r}")

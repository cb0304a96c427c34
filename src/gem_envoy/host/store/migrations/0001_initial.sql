-- The first schema of the host database.
-- Each migration runs in one transaction; the runner sets PRAGMA user_version afterwards.

-- AUTOINCREMENT: ids of deleted devices and zones are never handed out again, so a stale
-- id kept by a client or a log can never point at a different device later.
CREATE TABLE devices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    label       TEXT    NOT NULL DEFAULT '',
    driver      TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    elevated    INTEGER NOT NULL DEFAULT 0 CHECK (elevated IN (0, 1)),
    created_at  REAL    NOT NULL
);

CREATE TABLE zones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    address     TEXT    NOT NULL DEFAULT '',
    UNIQUE (device_id, name)
);

-- value and previous_value are text encodings of their types (see store/codec.py);
-- for secure names they hold gem-crypt ciphertext, never the plaintext.
-- previous_type: the type of previous_value, which may differ from the current type.
CREATE TABLE attributes (
    target_type     TEXT NOT NULL CHECK (target_type IN ('device', 'zone')),
    target_id       INTEGER NOT NULL,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('int', 'float', 'str', 'bool', 'json')),
    value           TEXT NOT NULL,
    previous_type   TEXT CHECK (previous_type IN ('int', 'float', 'str', 'bool', 'json')),
    previous_value  TEXT,
    updated_at      REAL NOT NULL,
    PRIMARY KEY (target_type, target_id, name)
);

CREATE TABLE attribute_history (
    target_type TEXT    NOT NULL CHECK (target_type IN ('device', 'zone')),
    target_id   INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    ts          REAL    NOT NULL,
    value       REAL    NOT NULL
);
CREATE INDEX attribute_history_series ON attribute_history (target_type, target_id, name, ts);
-- Pruning deletes by age alone; without this it would scan the whole table.
CREATE INDEX attribute_history_ts ON attribute_history (ts);

-- attributes and history point at devices or zones by (type, id), which no foreign key
-- can express, so these triggers do the cascading. They also fire for zones removed by
-- the ON DELETE CASCADE of their device.
CREATE TRIGGER devices_delete_children AFTER DELETE ON devices
BEGIN
    DELETE FROM attributes WHERE target_type = 'device' AND target_id = OLD.id;
    DELETE FROM attribute_history WHERE target_type = 'device' AND target_id = OLD.id;
END;

CREATE TRIGGER zones_delete_children AFTER DELETE ON zones
BEGIN
    DELETE FROM attributes WHERE target_type = 'zone' AND target_id = OLD.id;
    DELETE FROM attribute_history WHERE target_type = 'zone' AND target_id = OLD.id;
END;

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    created_at      REAL NOT NULL
);

CREATE TABLE driver_commands (
    driver  TEXT NOT NULL,
    name    TEXT NOT NULL,
    args    TEXT NOT NULL DEFAULT '[]',
    notes   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (driver, name)
);

CREATE TABLE settings (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);

-- Rollups: raw history folded into 5-minute and hourly buckets (see store/rollups.py), so
-- that charts and energy totals over months and years never read millions of raw points.
--
-- One row per bucket of one series: resolution is the bucket's width in seconds (300, 3600),
-- start its first second (a multiple of the width, in epoch seconds). count is how many raw
-- points it holds; mean, minimum and maximum are over their values; delta, set for lifetime
-- counters only, is the energy the counter gained in the bucket (never negative).
CREATE TABLE rollups (
    target_type TEXT    NOT NULL CHECK (target_type IN ('device', 'zone')),
    target_id   INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    resolution  INTEGER NOT NULL CHECK (resolution IN (300, 3600)),
    start       REAL    NOT NULL,
    count       INTEGER NOT NULL CHECK (count > 0),
    mean        REAL    NOT NULL,
    minimum     REAL    NOT NULL,
    maximum     REAL    NOT NULL,
    delta       REAL    CHECK (delta >= 0),
    PRIMARY KEY (target_type, target_id, name, resolution, start)
) WITHOUT ROWID;
-- Pruning 5-minute buckets deletes by age alone.
CREATE INDEX rollups_age ON rollups (resolution, start);

-- How far each series is folded, per resolution: every bucket before done_until is final and
-- written (buckets without points have no row). Written in the same transaction as the
-- buckets it covers, so a crash leaves both or neither. last_value is the series' last raw
-- point before done_until: a counter's first step after it is measured from there, even once
-- that point is pruned.
CREATE TABLE rollup_progress (
    target_type TEXT    NOT NULL CHECK (target_type IN ('device', 'zone')),
    target_id   INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    resolution  INTEGER NOT NULL CHECK (resolution IN (300, 3600)),
    done_until  REAL    NOT NULL,
    last_value  REAL,
    PRIMARY KEY (target_type, target_id, name, resolution)
) WITHOUT ROWID;

-- As for history (0001_initial.sql): deleting a device or zone deletes its rollups.
CREATE TRIGGER devices_delete_rollups AFTER DELETE ON devices
BEGIN
    DELETE FROM rollups WHERE target_type = 'device' AND target_id = OLD.id;
    DELETE FROM rollup_progress WHERE target_type = 'device' AND target_id = OLD.id;
END;

CREATE TRIGGER zones_delete_rollups AFTER DELETE ON zones
BEGIN
    DELETE FROM rollups WHERE target_type = 'zone' AND target_id = OLD.id;
    DELETE FROM rollup_progress WHERE target_type = 'zone' AND target_id = OLD.id;
END;

-- Compact rollups. A year of one 40-zone gateway's 5-minute buckets is millions of rows, and
-- each one repeated its series' text key (target type, target id, attribute name,
-- resolution) and stored an eight-byte mean: about 45 bytes a bucket, 309 MB of a 400 MB
-- database. Now:
--
-- * rollup_series names each series once: one resolution of one attribute's history. Buckets
--   and progress carry its small integer id.
-- * A bucket stores the total of its points, not their mean (mean = total / count, the same
--   division the fold makes). The driver's watts and watt-hours are whole numbers, so their
--   totals are too, and SQLite keeps a whole value of a REAL column as a one- to four-byte
--   integer on disk. A mean rarely is whole, and took eight bytes.
-- * minimum and maximum are NULL where they equal the mean: a bucket of one point (a zone whose
--   device reports every 5 minutes), or of a steady value (night, a value held at its limit).
--
-- The rollup_buckets view reads them back in the old shape, by series key; store/rollups.py
-- writes them (bucket_rows.py has the rules, in Python).

-- The old tables are renamed out of the way (their triggers first, which name them), read
-- into the new ones, then dropped.
DROP TRIGGER devices_delete_rollups;
DROP TRIGGER zones_delete_rollups;
ALTER TABLE rollups RENAME TO old_rollups;
ALTER TABLE rollup_progress RENAME TO old_rollup_progress;

CREATE TABLE rollup_series (
    id          INTEGER PRIMARY KEY,
    target_type TEXT    NOT NULL CHECK (target_type IN ('device', 'zone')),
    target_id   INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    resolution  INTEGER NOT NULL CHECK (resolution IN (300, 3600)),
    UNIQUE (target_type, target_id, name, resolution)
);

-- start: the bucket's first second, a multiple of its width (whole, so stored as an integer
-- on disk; REAL so that it reads back as the float it was). delta as before: set for
-- lifetime counters only, never negative.
CREATE TABLE rollups (
    series      INTEGER NOT NULL,
    start       REAL    NOT NULL,
    count       INTEGER NOT NULL CHECK (count > 0),
    total       REAL    NOT NULL,
    minimum     REAL,
    maximum     REAL,
    delta       REAL    CHECK (delta >= 0),
    PRIMARY KEY (series, start)
) WITHOUT ROWID;

-- As before (0004), per series: every bucket before done_until is final and written, and
-- last_value is the series' last raw point before done_until.
CREATE TABLE rollup_progress (
    series      INTEGER PRIMARY KEY,
    done_until  REAL    NOT NULL,
    last_value  REAL
);

INSERT INTO rollup_series (target_type, target_id, name, resolution)
SELECT target_type, target_id, name, resolution FROM old_rollup_progress
UNION
SELECT DISTINCT target_type, target_id, name, resolution FROM old_rollups;

-- total = mean x count, rounded to the whole number it is within a billionth of (the float
-- error of the product: bucket_rows.py makes the same rule); the NULLs compared with the
-- mean as it will read back.
INSERT INTO rollups (series, start, count, total, minimum, maximum, delta)
SELECT series, start, count, total,
       CASE WHEN minimum = total / count THEN NULL ELSE minimum END,
       CASE WHEN maximum = total / count THEN NULL ELSE maximum END,
       delta
FROM (
    SELECT s.id AS series, r.start, r.count, r.minimum, r.maximum, r.delta,
           CASE WHEN abs(r.mean * r.count - round(r.mean * r.count))
                     <= 1e-9 * abs(r.mean * r.count)
                THEN round(r.mean * r.count) ELSE r.mean * r.count END AS total
    FROM old_rollups r JOIN rollup_series s USING (target_type, target_id, name, resolution)
);

INSERT INTO rollup_progress (series, done_until, last_value)
SELECT s.id, p.done_until, p.last_value
FROM old_rollup_progress p JOIN rollup_series s USING (target_type, target_id, name, resolution);

DROP TABLE old_rollups;
DROP TABLE old_rollup_progress;

-- The buckets by series key, in the shape Store.rollups returns (and an sqlite3 shell shows).
CREATE VIEW rollup_buckets AS
SELECT s.target_type, s.target_id, s.name, s.resolution, r.start, r.count,
       r.total / r.count AS mean,
       COALESCE(r.minimum, r.total / r.count) AS minimum,
       COALESCE(r.maximum, r.total / r.count) AS maximum,
       r.delta
FROM rollup_series s JOIN rollups r ON r.series = s.id;

-- Deleting a device or zone deletes its series, and a series its buckets and progress (as for
-- history, 0001_initial.sql; zones removed with their device fire their own trigger).
CREATE TRIGGER devices_delete_rollups AFTER DELETE ON devices
BEGIN
    DELETE FROM rollup_series WHERE target_type = 'device' AND target_id = OLD.id;
END;

CREATE TRIGGER zones_delete_rollups AFTER DELETE ON zones
BEGIN
    DELETE FROM rollup_series WHERE target_type = 'zone' AND target_id = OLD.id;
END;

CREATE TRIGGER rollup_series_delete AFTER DELETE ON rollup_series
BEGIN
    DELETE FROM rollups WHERE series = OLD.id;
    DELETE FROM rollup_progress WHERE series = OLD.id;
END;

-- The age index of the rollups (resolution, start) repeated every bucket's whole key: over a
-- year of one 40-zone gateway it was 238 MB of a 637 MB database. Pruning the 5-minute
-- buckets now walks the series (rollup_progress) and each series' buckets by their primary
-- key instead (store/rollups.py, prune_five_minutes).
DROP INDEX IF EXISTS rollups_age;

-- Long-lived API keys, for machines that cannot sign in (Prometheus). key_hash is the SHA-256
-- (hex) of the key: the key itself is shown once, when it is made, and never stored. A key is
-- not a user's: it has a role of its own, `user` (reads what a user reads) or `metrics`
-- (GET /metrics only), and lives until it is revoked (its row deleted).
CREATE TABLE api_keys (
    name        TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('user', 'metrics')),
    created_at  REAL NOT NULL
) WITHOUT ROWID;

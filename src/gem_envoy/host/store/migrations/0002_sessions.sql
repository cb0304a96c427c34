-- The API's sessions, kept here so that a restart signs nobody out and a user can be signed
-- out everywhere. token_hash is the SHA-256 (hex) of the bearer token: the token itself is
-- never stored. No foreign key to users: a change to a user deletes its sessions in the same
-- transaction (store/accounts.py), and a name is enough to find them.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_username ON sessions (username);
-- Pruning deletes by expiry alone.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

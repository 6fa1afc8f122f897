-- API keys: one row per key, holding the SHA-256 of the key and never the key itself.
-- user_role and user_token_version are the user's when the key was made: a key stops working,
-- as the user's JWTs do, when the role changes or the token version moves on (a new password).
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    public_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    read_only INTEGER NOT NULL DEFAULT 0,
    user_role TEXT NOT NULL,
    user_token_version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    UNIQUE (public_id)
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id, id);

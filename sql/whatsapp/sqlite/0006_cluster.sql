-- Sessions across several server processes (docs/scaling.md): the fencing token of the lease that
-- last owned each session, and each session's portable login (its profile's IndexedDB and Local
-- Storage, compressed and encrypted with cluster.snapshot_key). Unused with cluster.enabled false.
ALTER TABLE wa_sessions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

CREATE TABLE wa_session_snapshots (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    node TEXT NOT NULL,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    data TEXT NOT NULL,  -- a Fernet token (base64)
    created_at TEXT NOT NULL
);

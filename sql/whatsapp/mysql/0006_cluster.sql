-- Sessions across several server processes (docs/scaling.md): the fencing token of the lease that
-- last owned each session, and each session's portable login (its profile's IndexedDB and Local
-- Storage, compressed and encrypted with cluster.snapshot_key). Unused with cluster.enabled false.
ALTER TABLE wa_sessions ADD COLUMN epoch BIGINT UNSIGNED NOT NULL DEFAULT 0;

CREATE TABLE wa_session_snapshots (
    user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    epoch BIGINT UNSIGNED NOT NULL,
    node VARCHAR(128) NOT NULL,
    version CHAR(32) NOT NULL,
    size INT UNSIGNED NOT NULL,
    data LONGTEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- a Fernet token (base64)
    created_at DATETIME NOT NULL,
    CONSTRAINT wa_session_snapshots_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

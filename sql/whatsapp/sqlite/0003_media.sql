-- Media files of WhatsApp messages, kept under <data_dir>/media/<user id>/<sha256>.
-- A row is one use of a file: a user's upload (to send), an OGG/Opus voice note made from an
-- upload, or a copy of a message's media (downloaded from WhatsApp, or the file a message was
-- sent from). Rows of one user with the same sha256 share one file.
CREATE TABLE wa_media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- public and unguessable: what clients name the file by
    media_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mimetype TEXT NOT NULL,
    filename TEXT,
    -- upload, voice (made from the upload whose sha256 is source_sha256), download or sent
    -- (copies of the media of the message message_id, which WhatsApp holds too)
    direction TEXT NOT NULL,
    message_id TEXT,
    source_sha256 TEXT,
    created_at TEXT NOT NULL,
    -- unix milliseconds: least recently used copies go first when the quota is reached
    used_at INTEGER NOT NULL,
    UNIQUE (user_id, message_id)
);
CREATE INDEX wa_media_user_sha ON wa_media (user_id, sha256);
CREATE INDEX wa_media_used ON wa_media (used_at);

-- Media files of WhatsApp messages, kept under <data_dir>/media/<user id>/<sha256>.
-- A row is one use of a file: a user's upload (to send), an OGG/Opus voice note made from an
-- upload, or a copy of a message's media (downloaded from WhatsApp, or the file a message was
-- sent from). Rows of one user with the same sha256 share one file.
-- media_id: public and unguessable, what clients name the file by. direction: upload, voice
-- (made from the upload whose sha256 is source_sha256), download or sent (copies of the media
-- of the message message_id, which WhatsApp holds too). used_at: unix milliseconds, the least
-- recently used copies go first when the quota is reached.
CREATE TABLE wa_media (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    media_id VARCHAR(64) NOT NULL,
    user_id BIGINT UNSIGNED NOT NULL,
    sha256 CHAR(64) NOT NULL,
    size BIGINT UNSIGNED NOT NULL,
    mimetype VARCHAR(255) NOT NULL,
    filename VARCHAR(255) NULL,
    direction VARCHAR(16) NOT NULL,
    message_id VARCHAR(191) NULL,
    source_sha256 CHAR(64) NULL,
    created_at DATETIME NOT NULL,
    used_at BIGINT NOT NULL,
    UNIQUE KEY wa_media_media_id (media_id),
    UNIQUE KEY wa_media_user_message (user_id, message_id),
    KEY wa_media_user_sha (user_id, sha256),
    KEY wa_media_used (used_at),
    CONSTRAINT wa_media_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

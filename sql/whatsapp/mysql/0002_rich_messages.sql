-- Rich messages: what a message carries beyond text, and the reactions to it.
ALTER TABLE messages
    ADD COLUMN author VARCHAR(128) NULL,
    ADD COLUMN caption MEDIUMTEXT NULL,
    ADD COLUMN quoted_id VARCHAR(191) NULL,
    ADD COLUMN quoted TEXT NULL,
    ADD COLUMN media MEDIUMTEXT NULL,
    ADD COLUMN media_status VARCHAR(16) NULL,
    ADD COLUMN location TEXT NULL,
    ADD COLUMN edited TINYINT(1) NOT NULL DEFAULT 0,
    ADD COLUMN revoked TINYINT(1) NOT NULL DEFAULT 0;
-- quoted: JSON {id, body, type, fromMe, from}; media: JSON {mimetype, filename, size, duration,
-- width, height, thumbnail}; media_status: remote, ready, expired or error; location: JSON
-- {latitude, longitude, name, address}.

CREATE TABLE message_reactions (
    user_id BIGINT UNSIGNED NOT NULL,
    message_id VARCHAR(191) NOT NULL,
    sender VARCHAR(128) NOT NULL,
    emoji VARCHAR(64) NOT NULL,
    from_me TINYINT(1) NOT NULL DEFAULT 0,
    timestamp BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, message_id, sender),
    CONSTRAINT message_reactions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The autoreply plugin's tables. Every row belongs to a user and goes with them.

-- Keyword rules, tried in the order they were made (id).
CREATE TABLE IF NOT EXISTS autoreply_rules (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    keyword VARCHAR(200) NOT NULL,
    match_kind VARCHAR(16) NOT NULL,
    reply TEXT NOT NULL,
    active TINYINT(1) NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    KEY autoreply_rules_user (user_id, id),
    CONSTRAINT autoreply_rules_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The away message and office hours; no row is the default (off).
CREATE TABLE IF NOT EXISTS autoreply_away (
    user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    enabled TINYINT(1) NOT NULL DEFAULT 0,
    message TEXT NOT NULL,
    timezone VARCHAR(64) NOT NULL,
    hours TEXT NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT autoreply_away_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- When the bot last answered each chat (unix seconds): at most one answer per window.
CREATE TABLE IF NOT EXISTS autoreply_replies (
    user_id BIGINT UNSIGNED NOT NULL,
    chat_id VARCHAR(128) NOT NULL,
    replied_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, chat_id),
    CONSTRAINT autoreply_replies_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- WhatsApp sessions, and the chats and messages they report.
-- Databases made before plugins owned their tables have this already: the core's first
-- migration (core/0001_initial.sql) created every table then. IF NOT EXISTS adopts it.
CREATE TABLE IF NOT EXISTS wa_sessions (
    user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    state VARCHAR(16) NOT NULL DEFAULT 'STOPPED',
    phone VARCHAR(32) NULL,
    pushname VARCHAR(200) NULL,
    error VARCHAR(1000) NULL,
    since DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    KEY wa_sessions_state (state),
    CONSTRAINT wa_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS chats (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    wa_id VARCHAR(128) NOT NULL,
    name VARCHAR(200) NOT NULL DEFAULT '',
    is_group TINYINT(1) NOT NULL DEFAULT 0,
    unread_count INT NOT NULL DEFAULT 0,
    timestamp BIGINT NOT NULL DEFAULT 0,
    last_message TEXT NULL,
    UNIQUE KEY chats_user_wa (user_id, wa_id),
    KEY chats_user_time (user_id, timestamp),
    CONSTRAINT chats_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS messages (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    wa_id VARCHAR(191) NOT NULL,
    chat_id VARCHAR(128) NOT NULL,
    from_id VARCHAR(128) NOT NULL DEFAULT '',
    to_id VARCHAR(128) NOT NULL DEFAULT '',
    body MEDIUMTEXT NOT NULL,
    type VARCHAR(32) NOT NULL DEFAULT 'chat',
    from_me TINYINT(1) NOT NULL DEFAULT 0,
    ack TINYINT NOT NULL DEFAULT 0,
    timestamp BIGINT NOT NULL DEFAULT 0,
    UNIQUE KEY messages_user_wa (user_id, wa_id),
    KEY messages_user_chat_time (user_id, chat_id, timestamp),
    CONSTRAINT messages_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

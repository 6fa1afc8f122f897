-- The core tables. Timestamps are UTC DATETIMEs (the session time zone is +00:00).
CREATE TABLE users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(32) NOT NULL,
    password_hash VARCHAR(100) NOT NULL,
    full_name VARCHAR(200) NOT NULL DEFAULT '',
    email VARCHAR(254) NOT NULL DEFAULT '',
    role VARCHAR(16) NOT NULL DEFAULT 'user',
    points INT NOT NULL DEFAULT 0,
    token_version INT NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    UNIQUE KEY users_username (username),
    KEY users_role (role),
    CONSTRAINT users_role_check CHECK (role IN ('user', 'admin'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    price_cents BIGINT NOT NULL DEFAULT 0,
    points INT NOT NULL DEFAULT 0,
    image VARCHAR(2048) NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    KEY products_name (name),
    CONSTRAINT products_price_check CHECK (price_cents >= 0),
    CONSTRAINT products_points_check CHECK (points >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE articles (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(200) NOT NULL,
    content MEDIUMTEXT NOT NULL,
    author VARCHAR(200) NOT NULL DEFAULT '',
    image VARCHAR(2048) NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    KEY articles_title (title),
    KEY articles_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE wa_sessions (
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

CREATE TABLE chats (
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

CREATE TABLE messages (
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

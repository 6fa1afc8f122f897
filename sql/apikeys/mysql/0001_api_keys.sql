-- API keys: one row per key, holding the SHA-256 of the key and never the key itself.
-- user_role and user_token_version are the user's when the key was made: a key stops working,
-- as the user's JWTs do, when the role changes or the token version moves on (a new password).
CREATE TABLE IF NOT EXISTS api_keys (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    name VARCHAR(100) NOT NULL,
    public_id CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    secret_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    read_only TINYINT(1) NOT NULL DEFAULT 0,
    user_role VARCHAR(16) NOT NULL,
    user_token_version INT NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NULL,
    last_used_at DATETIME NULL,
    UNIQUE KEY api_keys_public_id (public_id),
    KEY api_keys_user (user_id, id),
    CONSTRAINT api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

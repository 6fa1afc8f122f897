-- Webhooks: the endpoints users register, and the outbox of deliveries to them.
-- secret_sealed is the endpoint's signing secret encrypted with a key derived from the server's
-- secret (auth.jwt_secret): a dump of the table alone does not give it.
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    url VARCHAR(2048) NOT NULL,
    description VARCHAR(500) NOT NULL DEFAULT '',
    event_types TEXT NOT NULL,
    active TINYINT(1) NOT NULL DEFAULT 1,
    disabled_reason VARCHAR(500) NULL,
    secret_sealed VARCHAR(512) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    consecutive_failures INT NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    KEY webhook_endpoints_user (user_id, id),
    CONSTRAINT webhook_endpoints_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per (endpoint, event), written in the transaction that stores the event. Times are
-- milliseconds since the epoch. A worker claims a due row by setting lease_until/lease_token;
-- a lease that ran out (its process died) makes the row claimable again. order_key is the
-- event's chat (or the session): a row is claimed only when no earlier row of its endpoint and
-- order_key is still pending.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    endpoint_id BIGINT UNSIGNED NOT NULL,
    event_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    event_type VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    order_key VARCHAR(191) NOT NULL,
    payload MEDIUMTEXT NOT NULL,
    status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'pending',
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NULL,
    lease_token CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    first_attempt_at BIGINT NULL,
    last_attempt_at BIGINT NULL,
    last_status_code INT NULL,
    last_latency_ms INT NULL,
    last_error VARCHAR(500) NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    UNIQUE KEY webhook_deliveries_event (endpoint_id, event_id),
    KEY webhook_deliveries_endpoint (endpoint_id, id),
    KEY webhook_deliveries_due (status, next_attempt_at),
    KEY webhook_deliveries_order (endpoint_id, order_key, status, id),
    CONSTRAINT webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_endpoint FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

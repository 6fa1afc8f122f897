-- Orders, and the points ledger that every change of users.points is written to.
--
-- An order copies its product's name, price and points when it is placed: the product may
-- change or be deleted later (product_id then names a product that is gone, so it has no
-- foreign key), and the order keeps saying what was bought, for how much, for how many points.
CREATE TABLE IF NOT EXISTS orders (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    product_id BIGINT UNSIGNED NOT NULL,
    product_name VARCHAR(200) NOT NULL,
    quantity INT NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    total_price_cents BIGINT NOT NULL,
    points_per_unit INT NOT NULL,
    total_points BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL DEFAULT 'placed',
    created_at DATETIME NOT NULL,
    cancelled_at DATETIME NULL,
    cancelled_by BIGINT UNSIGNED NULL,
    KEY orders_user (user_id, id),
    KEY orders_status (status, id),
    KEY orders_product (product_id, id),
    KEY orders_cancelled_by (cancelled_by),
    CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT orders_cancelled_by FOREIGN KEY (cancelled_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT orders_quantity_check CHECK (quantity BETWEEN 1 AND 1000),
    CONSTRAINT orders_status_check CHECK (status IN ('placed', 'cancelled'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- One row per change of a user's points, written in the transaction that changes users.points,
-- so users.points is always the sum of the user's rows; balance is users.points after the row.
-- (order_id, kind) is unique: an order is credited once and its cancellation reversed once.
CREATE TABLE IF NOT EXISTS points_ledger (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT UNSIGNED NOT NULL,
    delta BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    kind VARCHAR(16) NOT NULL,
    reason VARCHAR(500) NOT NULL,
    order_id BIGINT UNSIGNED NULL,
    admin_id BIGINT UNSIGNED NULL,
    created_at DATETIME NOT NULL,
    UNIQUE KEY points_ledger_order (order_id, kind),
    KEY points_ledger_user (user_id, id),
    KEY points_ledger_admin (admin_id),
    CONSTRAINT points_ledger_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT points_ledger_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    CONSTRAINT points_ledger_admin FOREIGN KEY (admin_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT points_ledger_delta_check CHECK (delta <> 0),
    CONSTRAINT points_ledger_kind_check CHECK (kind IN ('order', 'order_cancelled', 'adjustment'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- Points a user held before there was a ledger become its first row.
INSERT INTO points_ledger (user_id, delta, balance, kind, reason, created_at)
    SELECT id, points, points, 'adjustment', 'Balance before the points ledger', UTC_TIMESTAMP()
    FROM users WHERE points <> 0;

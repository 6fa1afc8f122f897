-- Orders, and the points ledger that every change of users.points is written to.
--
-- An order copies its product's name, price and points when it is placed: the product may
-- change or be deleted later (product_id then names a product that is gone, so it has no
-- foreign key), and the order keeps saying what was bought, for how much, for how many points.
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL,
    product_name TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_cents INTEGER NOT NULL,
    total_price_cents INTEGER NOT NULL,
    points_per_unit INTEGER NOT NULL,
    total_points INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'cancelled')),
    created_at TEXT NOT NULL,
    cancelled_at TEXT,
    cancelled_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS orders_user ON orders (user_id, id);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status, id);
CREATE INDEX IF NOT EXISTS orders_product ON orders (product_id, id);
CREATE INDEX IF NOT EXISTS orders_cancelled_by ON orders (cancelled_by);
-- One row per change of a user's points, written in the transaction that changes users.points,
-- so users.points is always the sum of the user's rows; balance is users.points after the row.
-- (order_id, kind) is unique: an order is credited once and its cancellation reversed once.
CREATE TABLE IF NOT EXISTS points_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delta INTEGER NOT NULL CHECK (delta <> 0),
    balance INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('order', 'order_cancelled', 'adjustment')),
    reason TEXT NOT NULL,
    order_id INTEGER REFERENCES orders (id) ON DELETE CASCADE,
    admin_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    UNIQUE (order_id, kind)
);
CREATE INDEX IF NOT EXISTS points_ledger_user ON points_ledger (user_id, id);
CREATE INDEX IF NOT EXISTS points_ledger_admin ON points_ledger (admin_id);
-- Points a user held before there was a ledger become its first row.
INSERT INTO points_ledger (user_id, delta, balance, kind, reason, created_at)
    SELECT id, points, points, 'adjustment', 'Balance before the points ledger', strftime('%Y-%m-%d %H:%M:%S', 'now')
    FROM users WHERE points <> 0;

-- The catalog's products.
-- Databases made before plugins owned their tables have this already: the core's first
-- migration (core/0001_initial.sql) created every table then. IF NOT EXISTS adopts it.
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    price_cents INTEGER NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
    points INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    image TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS products_name ON products (name);

-- The catalog's products.
-- Databases made before plugins owned their tables have this already: the core's first
-- migration (core/0001_initial.sql) created every table then. IF NOT EXISTS adopts it.
CREATE TABLE IF NOT EXISTS products (
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

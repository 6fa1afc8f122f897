-- The articles.
-- Databases made before plugins owned their tables have this already: the core's first
-- migration (core/0001_initial.sql) created every table then. IF NOT EXISTS adopts it.
CREATE TABLE IF NOT EXISTS articles (
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

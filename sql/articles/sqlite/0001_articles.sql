-- The articles.
-- Databases made before plugins owned their tables have this already: the core's first
-- migration (core/0001_initial.sql) created every table then. IF NOT EXISTS adopts it.
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_title ON articles (title);
CREATE INDEX IF NOT EXISTS articles_created ON articles (created_at);

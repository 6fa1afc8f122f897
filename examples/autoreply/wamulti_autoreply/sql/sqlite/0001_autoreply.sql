-- The autoreply plugin's tables. Every row belongs to a user and goes with them.

-- Keyword rules, tried in the order they were made (id).
CREATE TABLE IF NOT EXISTS autoreply_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    match_kind TEXT NOT NULL,
    reply TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS autoreply_rules_user ON autoreply_rules (user_id, id);

-- The away message and office hours; no row is the default (off).
CREATE TABLE IF NOT EXISTS autoreply_away (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL,
    timezone TEXT NOT NULL,
    hours TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- When the bot last answered each chat (unix seconds): at most one answer per window.
CREATE TABLE IF NOT EXISTS autoreply_replies (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chat_id TEXT NOT NULL,
    replied_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, chat_id)
);

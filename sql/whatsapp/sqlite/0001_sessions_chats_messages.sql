-- WhatsApp sessions, and the chats and messages they report.
-- Databases made before plugins owned their tables have this already: the core's first
-- migration (core/0001_initial.sql) created every table then. IF NOT EXISTS adopts it.
CREATE TABLE IF NOT EXISTS wa_sessions (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'STOPPED',
    phone TEXT,
    pushname TEXT,
    error TEXT,
    since TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS wa_sessions_state ON wa_sessions (state);

CREATE TABLE IF NOT EXISTS chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wa_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    is_group INTEGER NOT NULL DEFAULT 0,
    unread_count INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL DEFAULT 0,
    last_message TEXT,
    UNIQUE (user_id, wa_id)
);
CREATE INDEX IF NOT EXISTS chats_user_time ON chats (user_id, timestamp);

CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wa_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    from_id TEXT NOT NULL DEFAULT '',
    to_id TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'chat',
    from_me INTEGER NOT NULL DEFAULT 0,
    ack INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, wa_id)
);
CREATE INDEX IF NOT EXISTS messages_user_chat_time ON messages (user_id, chat_id, timestamp);

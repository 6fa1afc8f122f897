-- One person is one chat: WhatsApp may name a person by phone (79991234567@c.us) or by a privacy
-- id (12345678901234@lid). What the page taught us about which ids are one person:
CREATE TABLE wa_lids (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lid TEXT NOT NULL,
    phone TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, lid)
);
CREATE INDEX wa_lids_phone ON wa_lids (user_id, phone);
-- A chat is stored under its phone id when one is known; page_id is the id the page uses for it
-- (the @lid one for a LID-addressed chat), which calls into the page take.
ALTER TABLE chats ADD COLUMN page_id TEXT;

CREATE TABLE wa_contacts (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wa_id TEXT NOT NULL,
    lid TEXT,
    phone TEXT,
    name TEXT NOT NULL DEFAULT '',
    pushname TEXT NOT NULL DEFAULT '',
    is_my_contact INTEGER NOT NULL DEFAULT 0,
    is_business INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, wa_id)
);
CREATE INDEX wa_contacts_name ON wa_contacts (user_id, name);

-- Whether a number is on WhatsApp, as the session last heard (answers are kept for a while).
CREATE TABLE wa_number_checks (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    is_on_whatsapp INTEGER NOT NULL,
    wa_id TEXT,
    lid TEXT,
    checked_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, phone)
);

-- The session's own LID, and the number whose chats are stored (a different number linked
-- later does not inherit them).
ALTER TABLE wa_sessions ADD COLUMN lid TEXT;
ALTER TABLE wa_sessions ADD COLUMN linked_phone TEXT;

-- Who sent a message through this server: "user" (the REST API or the websocket), or
-- "plugin:<name>" (a plugin, so that a bot can tell its own messages apart); NULL otherwise.
ALTER TABLE messages ADD COLUMN sent_by TEXT;

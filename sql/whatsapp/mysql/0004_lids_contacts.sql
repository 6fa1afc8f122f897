-- One person is one chat: WhatsApp may name a person by phone (79991234567@c.us) or by a privacy
-- id (12345678901234@lid). What the page taught us about which ids are one person:
CREATE TABLE wa_lids (
    user_id BIGINT UNSIGNED NOT NULL,
    lid VARCHAR(128) NOT NULL,
    phone VARCHAR(128) NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, lid),
    KEY wa_lids_phone (user_id, phone),
    CONSTRAINT wa_lids_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- A chat is stored under its phone id when one is known; page_id is the id the page uses for it
-- (the @lid one for a LID-addressed chat), which calls into the page take.
ALTER TABLE chats ADD COLUMN page_id VARCHAR(128) NULL;

CREATE TABLE wa_contacts (
    user_id BIGINT UNSIGNED NOT NULL,
    wa_id VARCHAR(128) NOT NULL,
    lid VARCHAR(128) NULL,
    phone VARCHAR(128) NULL,
    name VARCHAR(200) NOT NULL DEFAULT '',
    pushname VARCHAR(200) NOT NULL DEFAULT '',
    is_my_contact TINYINT(1) NOT NULL DEFAULT 0,
    is_business TINYINT(1) NOT NULL DEFAULT 0,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, wa_id),
    KEY wa_contacts_name (user_id, name),
    CONSTRAINT wa_contacts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Whether a number is on WhatsApp, as the session last heard (answers are kept for a while).
CREATE TABLE wa_number_checks (
    user_id BIGINT UNSIGNED NOT NULL,
    phone VARCHAR(32) NOT NULL,
    is_on_whatsapp TINYINT(1) NOT NULL,
    wa_id VARCHAR(128) NULL,
    lid VARCHAR(128) NULL,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, phone),
    CONSTRAINT wa_number_checks_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The session's own LID, and the number whose chats are stored (a different number linked
-- later does not inherit them).
ALTER TABLE wa_sessions ADD COLUMN lid VARCHAR(128) NULL, ADD COLUMN linked_phone VARCHAR(32) NULL;

-- Who sent a message through this server: "user" (the REST API or the websocket), or
-- "plugin:<name>" (a plugin, so that a bot can tell its own messages apart); NULL otherwise.
ALTER TABLE messages ADD COLUMN sent_by VARCHAR(80) NULL;

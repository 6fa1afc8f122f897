-- Rich messages: what a message carries beyond text, and the reactions to it.
ALTER TABLE messages ADD COLUMN author TEXT;
ALTER TABLE messages ADD COLUMN caption TEXT;
ALTER TABLE messages ADD COLUMN quoted_id TEXT;
-- JSON: {id, body, type, fromMe, from}, a snippet of the quoted message
ALTER TABLE messages ADD COLUMN quoted TEXT;
-- JSON: {mimetype, filename, size, duration, width, height, thumbnail}
ALTER TABLE messages ADD COLUMN media TEXT;
-- remote (WhatsApp has it), ready (a copy is kept here), expired (WhatsApp lost it), error
ALTER TABLE messages ADD COLUMN media_status TEXT;
-- JSON: {latitude, longitude, name, address}
ALTER TABLE messages ADD COLUMN location TEXT;
ALTER TABLE messages ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;

CREATE TABLE message_reactions (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    emoji TEXT NOT NULL,
    from_me INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, message_id, sender)
);

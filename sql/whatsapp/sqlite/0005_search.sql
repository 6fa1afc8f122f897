-- Searching messages by their words: an FTS5 index over the text and caption of every message,
-- kept by triggers (external content: the text itself stays in messages only). unicode61 folds
-- case in every script (Анна finds анна) and, with remove_diacritics 2, ё finds е.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, caption, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body, caption) VALUES (new.id, new.body, new.caption);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, caption) VALUES ('delete', old.id, old.body, old.caption);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, caption ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, caption) VALUES ('delete', old.id, old.body, old.caption);
    INSERT INTO messages_fts (rowid, body, caption) VALUES (new.id, new.body, new.caption);
END;

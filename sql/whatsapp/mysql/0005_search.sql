-- Searching messages by their words: a FULLTEXT index over the text and caption of every message.
-- The text columns take a case-insensitive collation first (Анна finds анна); ids stay binary.
-- On a large table this rebuilds it once: plan the upgrade (docs/operations.md).
ALTER TABLE messages
    MODIFY body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    MODIFY caption MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL;
ALTER TABLE messages ADD FULLTEXT INDEX messages_text (body, caption);

-- How many messages each chat holds, kept by triggers, so that a page of messages answers its
-- `total` without counting the chat's rows (a COUNT(*) grows with the chat: 17 ms at 100,000
-- messages). Exact, whoever writes: an insert adds one, a delete takes one, a message moved to
-- another chat (a LID chat merged into the phone's) moves its one.
-- With binary logging on, creating a trigger takes the SUPER privilege or
-- log_bin_trust_function_creators = 1 (docs/operations.md). Every statement here may run again
-- after a failure: MySQL commits DDL at once, so a failed upgrade resumes where it stopped.
CREATE TABLE IF NOT EXISTS chat_message_counts (
    user_id BIGINT UNSIGNED NOT NULL,
    chat_id VARCHAR(128) NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, chat_id),
    CONSTRAINT chat_message_counts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

DROP TRIGGER IF EXISTS chat_message_counts_insert;
CREATE TRIGGER chat_message_counts_insert AFTER INSERT ON messages FOR EACH ROW BEGIN
    INSERT INTO chat_message_counts (user_id, chat_id, messages) VALUES (NEW.user_id, NEW.chat_id, 1)
        ON DUPLICATE KEY UPDATE messages = messages + 1;
END;
DROP TRIGGER IF EXISTS chat_message_counts_delete;
CREATE TRIGGER chat_message_counts_delete AFTER DELETE ON messages FOR EACH ROW BEGIN
    UPDATE chat_message_counts SET messages = messages - 1 WHERE user_id = OLD.user_id AND chat_id = OLD.chat_id;
END;
DROP TRIGGER IF EXISTS chat_message_counts_move;
CREATE TRIGGER chat_message_counts_move AFTER UPDATE ON messages FOR EACH ROW BEGIN
    IF NOT (OLD.chat_id <=> NEW.chat_id AND OLD.user_id <=> NEW.user_id) THEN
        UPDATE chat_message_counts SET messages = messages - 1 WHERE user_id = OLD.user_id AND chat_id = OLD.chat_id;
        INSERT INTO chat_message_counts (user_id, chat_id, messages) VALUES (NEW.user_id, NEW.chat_id, 1)
            ON DUPLICATE KEY UPDATE messages = messages + 1;
    END IF;
END;

REPLACE INTO chat_message_counts (user_id, chat_id, messages)
    SELECT user_id, chat_id, COUNT(*) FROM messages GROUP BY user_id, chat_id;

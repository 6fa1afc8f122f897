-- Usernames in their canonical form (plugins/auth/usernames.py): stored lower case and compared
-- byte for byte (ascii_bin), because utf8mb4_unicode_ci found 'victim3' for 'victim3 ',
-- 'vïctim3' and fullwidth letters. Each name gets its skeleton, so registration can refuse a
-- name that looks like a taken one. Names were ASCII letters, digits, '_', '.' and '-' already.
UPDATE users SET username = LOWER(TRIM(username));
ALTER TABLE users
    MODIFY username VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    ADD COLUMN username_skeleton VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    ADD KEY users_skeleton (username_skeleton);
-- The same steps, in the same order, as usernames.SKELETON_STEPS.
UPDATE users SET username_skeleton = REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(username, 'rn', 'm'), 'vv', 'w'), '0', 'o'), '1', 'l'), '_', '-'), '.', '-');

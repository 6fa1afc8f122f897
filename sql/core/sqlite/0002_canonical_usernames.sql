-- Usernames in their canonical form (plugins/auth/usernames.py): stored lower case, compared
-- exactly, and each with its skeleton, so registration can refuse a name that looks like a
-- taken one. Names were ASCII letters, digits, '_', '.' and '-' already.
UPDATE users SET username = lower(trim(username));
ALTER TABLE users ADD COLUMN username_skeleton TEXT NOT NULL DEFAULT '';
-- The same steps, in the same order, as usernames.SKELETON_STEPS.
UPDATE users SET username_skeleton = REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(username, 'rn', 'm'), 'vv', 'w'), '0', 'o'), '1', 'l'), '_', '-'), '.', '-');
CREATE INDEX users_skeleton ON users (username_skeleton);

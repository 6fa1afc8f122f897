"""Who an API key belongs to: the ``authenticate`` hook's work for keys."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from server.db import Queries
from server.errors import Unauthorized
from server.users import COLUMNS as USER_COLUMNS

from plugins.apikeys import keys

TOUCH_EVERY = timedelta(minutes=1)  # lastUsedAt is written at most this often per key
_DB_TIME = "%Y-%m-%d %H:%M:%S"
_USER = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))
_LOOKUP = f"""
SELECT k.id AS key_id, k.secret_hash, k.read_only, k.user_role, k.user_token_version,
       CASE WHEN k.expires_at IS NOT NULL AND k.expires_at <= ? THEN 1 ELSE 0 END AS expired,
       CASE WHEN k.last_used_at IS NULL OR k.last_used_at <= ? THEN 1 ELSE 0 END AS touch_due,
       {_USER}
FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.public_id = ?
"""
INVALID = "The API key is not valid."


async def authenticate_key(db: Queries, key: str) -> dict[str, Any]:
    """The user row a key acts as, marked ``read_only`` and ``credential_id``; Unauthorized for a
    key that is unknown, wrong, expired, or older than its user's role or token version."""
    public_id = keys.public_id_of(key)
    if public_id is None:
        raise Unauthorized(INVALID)
    now = datetime.now(timezone.utc)
    stamp = now.strftime(_DB_TIME)
    row = await db.fetch_one(_LOOKUP, (stamp, (now - TOUCH_EVERY).strftime(_DB_TIME), public_id))
    if row is None or not keys.matches(key, row["secret_hash"]):
        raise Unauthorized(INVALID)
    if row["expired"]:
        raise Unauthorized("The API key has expired; make a new one.")
    if row["user_role"] != row["role"] or int(row["user_token_version"]) != int(row["token_version"]):
        raise Unauthorized("The API key was revoked when its user's role or password changed; make a new one.")
    if row["touch_due"]:
        # At most one write a minute per key, however many requests it makes (and the condition
        # keeps two processes from both writing).
        await db.execute(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
            (stamp, row["key_id"], (now - TOUCH_EVERY).strftime(_DB_TIME)),
        )
    user = {column.strip(): row[column.strip()] for column in USER_COLUMNS.split(",")}
    user["read_only"] = bool(row["read_only"])
    user["credential_id"] = keys.credential_id(row["key_id"])
    return user

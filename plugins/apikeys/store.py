"""The api_keys table: making, listing, renaming and deleting keys."""
from __future__ import annotations

from typing import Any

from server.db import IntegrityError, Queries
from server.errors import Conflict, NotFound
from server.timeutil import now_db

from plugins.apikeys import keys

COLUMNS = "id, user_id, name, public_id, read_only, created_at, expires_at, last_used_at"
_ATTEMPTS = 3  # a public id already taken (one chance in 10^12) is drawn again


def key_answer(row: dict[str, Any]) -> dict[str, Any]:
    """A row as ``ApiKeySchema`` dumps it (the schema's attribute names)."""
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "prefix": keys.display_prefix(row["public_id"]),
        "read_only": bool(row["read_only"]),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "last_used_at": row["last_used_at"],
    }


async def get_key(db: Queries, key_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {COLUMNS} FROM api_keys WHERE id = ?", (key_id,))


async def list_keys(db: Queries, user_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A user's keys, newest first, and how many they hold."""
    total = await db.fetch_value("SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ?", (user_id,))
    rows = await db.fetch_all(
        f"SELECT {COLUMNS} FROM api_keys WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?", (user_id, limit, offset)
    )
    return rows, int(total)


async def create_key(
    db: Any, user_id: int, name: str, *, read_only: bool, expires_at: str | None, max_per_user: int
) -> tuple[dict[str, Any], str]:
    """Make a key for a user; return its row and the key itself (never stored).

    Conflict when the user holds ``max_per_user`` keys already. The user's row is locked while
    counting (MySQL; SQLite serialises transactions), so two requests at once cannot both take
    the last place. The key remembers the user's role and token version of this moment.
    """
    attempts = 0
    while True:
        new = keys.generate()
        try:
            async with db.transaction() as tx:
                user = await tx.fetch_one(f"SELECT role, token_version FROM users WHERE id = ?{tx.for_update}", (user_id,))
                if user is None:
                    raise NotFound("No such user.")
                held = int(await tx.fetch_value("SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ?", (user_id,)))
                if held >= max_per_user:
                    raise Conflict(f"You hold {held} API keys, the most allowed; delete one first.")
                result = await tx.execute(
                    "INSERT INTO api_keys (user_id, name, public_id, secret_hash, read_only, user_role,"
                    " user_token_version, created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (user_id, name, new.public_id, new.secret_hash, int(read_only), user["role"],
                     int(user["token_version"]), now_db(), expires_at),
                )
                row = await tx.fetch_one(f"SELECT {COLUMNS} FROM api_keys WHERE id = ?", (result.lastrowid,))
            return row, new.key
        except IntegrityError:
            attempts += 1
            if attempts == _ATTEMPTS:
                raise


async def rename_key(db: Queries, key_id: int, name: str) -> None:
    await db.execute("UPDATE api_keys SET name = ? WHERE id = ?", (name, key_id))


async def delete_key(db: Queries, key_id: int) -> bool:
    return (await db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))).rowcount > 0

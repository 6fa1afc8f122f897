"""The users table, which the core owns because authentication needs it on every request."""
from __future__ import annotations

from typing import Any

from server.db import Queries
from server.events import event
from server.timeutil import iso

COLUMNS = "id, username, full_name, email, role, points, token_version, created_at, updated_at"

# The event bus channel on which every process hears that a user's tokens were revoked.
REVOCATIONS = "core:revocations"


def public_user(row: dict[str, Any]) -> dict[str, Any]:
    """A user as docs/api.md shows it: never the password hash, never the token version."""
    return {
        "id": int(row["id"]),
        "username": row["username"],
        "fullName": row["full_name"],
        "email": row["email"],
        "role": row["role"],
        "points": int(row["points"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


MAX_ID = 2**63 - 1  # ids are BIGINTs; SQLite refuses to bind a larger integer at all


async def get_user(db: Queries, user_id: int) -> dict[str, Any] | None:
    """The user row, or None (also for an id no row can have, such as one typed in a URL)."""
    if not 0 < int(user_id) <= MAX_ID:
        return None
    return await db.fetch_one(f"SELECT {COLUMNS} FROM users WHERE id = ?", (user_id,))


async def count_admins(db: Queries) -> int:
    return int(await db.fetch_value("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'"))


async def publish_revocation(app: Any, user: dict[str, Any] | int, *, deleted: bool = False) -> None:
    """Tell every server process that a user's older tokens are revoked (a new password, a new
    role: ``user`` is the updated row) or that the user is gone (``deleted``, ``user`` an id).
    Their open sockets close at once instead of at the next re-authentication."""
    if deleted:
        data = {"userId": int(user), "deleted": True}
    else:
        data = {"userId": int(user["id"]), "tokenVersion": int(user["token_version"])}
    await app.events.publish(REVOCATIONS, event("user.revoked", data))

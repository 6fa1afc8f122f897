"""Users as administrators manage them, and the numbers of the stats page.

The "at least one administrator" rule is checked inside the transaction that changes the
row. On MySQL the admin rows are locked first (always in the same order, so two admins
demoting each other wait instead of deadlocking); SQLite transactions are serialised.
"""
from __future__ import annotations

import copy
import os
import resource
from typing import Any

from server.db import Queries
from server.errors import Conflict, NotFound
from server.timeutil import now_db
from server.users import COLUMNS, get_user

LAST_ADMIN = "This is the last administrator: make another user an administrator first."


async def _lock_admins_and_user(tx: Queries, user_id: int) -> tuple[int, dict[str, Any]]:
    admins = await tx.fetch_all(f"SELECT id FROM users WHERE role = 'admin' ORDER BY id{tx.for_update}")
    user = await tx.fetch_one(f"SELECT {COLUMNS} FROM users WHERE id = ?{tx.for_update}", (user_id,))
    if user is None:
        raise NotFound("No such user.")
    return len(admins), user


async def change_role(db: Any, user_id: int, role: str) -> dict[str, Any]:
    """Set a user's role; their tokens stop working. Conflict when no admin would be left."""
    async with db.transaction() as tx:
        admins, user = await _lock_admins_and_user(tx, user_id)
        if user["role"] == role:
            return user
        if user["role"] == "admin" and admins <= 1:
            raise Conflict(LAST_ADMIN)
        await tx.execute(
            "UPDATE users SET role = ?, token_version = token_version + 1, updated_at = ? WHERE id = ?",
            (role, now_db(), user_id),
        )
        return await get_user(tx, user_id)


async def delete_user(db: Any, user_id: int) -> None:
    """Delete a user; their chats, messages and session rows go by foreign key."""
    async with db.transaction() as tx:
        admins, user = await _lock_admins_and_user(tx, user_id)
        if user["role"] == "admin" and admins <= 1:
            raise Conflict(LAST_ADMIN)
        await tx.execute("DELETE FROM users WHERE id = ?", (user_id,))


def rss_bytes() -> int:
    """Resident memory now (from /proc), or the peak where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def merge_stats(parts: list[Any]) -> dict[str, Any]:
    """Every plugin's part (the admin plugin's own among them) deep-merged, in hook order. Each
    plugin answers for the shape of its keys; none is filled in for a plugin that is off."""
    stats: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, dict):
            _deep_merge(stats, part)
    return stats


def _deep_merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


async def own_stats(app: Any) -> dict[str, Any]:
    row = await app.db.fetch_one(
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0) AS admins FROM users"
    )
    return {
        "users": {"total": int(row["total"]), "admins": int(row["admins"])},
        "process": {"uptimeSeconds": round(app.uptime_seconds, 3), "rssBytes": rss_bytes()},
        "database": {"backend": app.db.backend, "pool": app.db.pool_info()},
    }

"""Session states in the database: what the admin list shows and what a restart restores."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from server.db import Queries
from server.timeutil import now_db


async def save_state(db: Queries, user_id: int, status: dict[str, Any]) -> None:
    now = now_db()
    since = status.get("since")
    since_db = (
        datetime.fromtimestamp(since, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if isinstance(since, (int, float)) else now
    )
    row = {
        "user_id": user_id,
        "state": status["state"],
        "phone": status.get("phone"),
        "pushname": (status.get("pushname") or None),
        "error": (status.get("error") or None) and str(status["error"])[:1000],
        "lid": status.get("lid") or None,
        "since": since_db,
        "updated_at": now,
    }
    update = ["state", "phone", "pushname", "error", "lid", "since", "updated_at"]
    if status["state"] == "CONNECTED" and status.get("phone"):
        row["linked_phone"] = status["phone"]  # the number whose chats are stored from now on
        update.append("linked_phone")
    await db.upsert("wa_sessions", row, keys=["user_id"], update=update)


async def sessions_to_restore(db: Queries) -> list[int]:
    rows = await db.fetch_all("SELECT user_id FROM wa_sessions WHERE state IN ('CONNECTED', 'DISCONNECTED') ORDER BY user_id")
    return [int(r["user_id"]) for r in rows]


async def saved_state(db: Queries, user_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(
        "SELECT state, phone, pushname, error, lid, linked_phone, since FROM wa_sessions WHERE user_id = ?", (user_id,))


async def forget_linked_phone(db: Queries, user_id: int) -> None:
    """Logged out: the next number linked starts with nothing stored."""
    await db.execute("UPDATE wa_sessions SET linked_phone = NULL, lid = NULL WHERE user_id = ?", (user_id,))

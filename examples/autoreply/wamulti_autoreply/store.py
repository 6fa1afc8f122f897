"""The autoreply tables: rules, the away message, and when each chat was last answered."""
from __future__ import annotations

import json
from typing import Any

from server.db import IntegrityError, Queries
from server.errors import Conflict, NotFound
from server.timeutil import now_db

from wamulti_autoreply.hours import WEEKDAYS

RULE_COLUMNS = "id, user_id, keyword, match_kind, reply, active, created_at, updated_at"
_EDITABLE = ("keyword", "match_kind", "reply", "active")  # what PATCH may change, as columns


def rule_answer(row: dict[str, Any]) -> dict[str, Any]:
    """A row as ``AutoreplyRuleSchema`` dumps it."""
    return {**row, "id": int(row["id"]), "active": bool(row["active"])}


# -- rules ------------------------------------------------------------------------------------------
async def list_rules(db: Queries, user_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of a user's rules in the order they are tried (oldest first), and how many there are."""
    total = await db.fetch_value("SELECT COUNT(*) AS n FROM autoreply_rules WHERE user_id = ?", (user_id,))
    rows = await db.fetch_all(
        f"SELECT {RULE_COLUMNS} FROM autoreply_rules WHERE user_id = ? ORDER BY id LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    )
    return rows, int(total)


async def active_rules(db: Queries, user_id: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        f"SELECT {RULE_COLUMNS} FROM autoreply_rules WHERE user_id = ? AND active = 1 ORDER BY id", (user_id,)
    )


async def get_rule(db: Queries, user_id: int, rule_id: int) -> dict[str, Any]:
    """The user's rule; NotFound for a rule that is not theirs, so nobody learns others' ids."""
    row = await db.fetch_one(f"SELECT {RULE_COLUMNS} FROM autoreply_rules WHERE id = ? AND user_id = ?",
                             (rule_id, user_id))
    if row is None:
        raise NotFound("No such rule.")
    return row


async def create_rule(db: Any, user_id: int, rule: dict[str, Any], *, max_per_user: int) -> dict[str, Any]:
    """Store a new rule; Conflict when the user holds ``max_per_user`` already. The user's row is
    locked while counting (MySQL; SQLite serialises transactions), so two requests at once cannot
    both take the last place."""
    async with db.transaction() as tx:
        if await tx.fetch_one(f"SELECT id FROM users WHERE id = ?{tx.for_update}", (user_id,)) is None:
            raise NotFound("No such user.")
        held = int(await tx.fetch_value("SELECT COUNT(*) AS n FROM autoreply_rules WHERE user_id = ?", (user_id,)))
        if held >= max_per_user:
            raise Conflict(f"You hold {held} rules, the most allowed; delete one first.")
        now = now_db()
        result = await tx.execute(
            "INSERT INTO autoreply_rules (user_id, keyword, match_kind, reply, active, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user_id, rule["keyword"], rule["match_kind"], rule["reply"], int(rule["active"]), now, now),
        )
        return await tx.fetch_one(f"SELECT {RULE_COLUMNS} FROM autoreply_rules WHERE id = ?", (result.lastrowid,))


async def update_rule(db: Queries, user_id: int, rule_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    columns = [column for column in _EDITABLE if column in changes]
    values = [int(changes[c]) if c == "active" else changes[c] for c in columns]
    sets = ", ".join(f"{column} = ?" for column in columns)
    await db.execute(f"UPDATE autoreply_rules SET {sets}, updated_at = ? WHERE id = ? AND user_id = ?",
                     (*values, now_db(), rule_id, user_id))
    return await get_rule(db, user_id, rule_id)


async def delete_rule(db: Queries, user_id: int, rule_id: int) -> bool:
    result = await db.execute("DELETE FROM autoreply_rules WHERE id = ? AND user_id = ?", (rule_id, user_id))
    return result.rowcount > 0


# -- the away message -------------------------------------------------------------------------------
def default_away() -> dict[str, Any]:
    return {"enabled": False, "message": "", "timezone": "UTC", "hours": {day: [] for day in WEEKDAYS},
            "updated_at": None}


async def get_away(db: Queries, user_id: int) -> dict[str, Any]:
    """The user's away message, or the defaults (off) when they never set one."""
    row = await db.fetch_one(
        "SELECT enabled, message, timezone, hours, updated_at FROM autoreply_away WHERE user_id = ?", (user_id,)
    )
    if row is None:
        return default_away()
    hours = json.loads(row["hours"])
    return {"enabled": bool(row["enabled"]), "message": row["message"], "timezone": row["timezone"],
            "hours": {day: hours.get(day, []) for day in WEEKDAYS}, "updated_at": row["updated_at"]}


async def put_away(db: Queries, user_id: int, away: dict[str, Any]) -> dict[str, Any]:
    await db.upsert(
        "autoreply_away",
        {"user_id": user_id, "enabled": int(away["enabled"]), "message": away["message"],
         "timezone": away["timezone"], "hours": json.dumps(away["hours"], separators=(",", ":")),
         "updated_at": now_db()},
        keys=["user_id"],
        update=["enabled", "message", "timezone", "hours", "updated_at"],
    )
    return await get_away(db, user_id)


# -- once per window --------------------------------------------------------------------------------
async def claim_window(db: Queries, user_id: int, chat_id: str, now: int, window_seconds: int) -> bool:
    """Take the right to answer a chat now: True when it was not answered within the window (and
    records ``now`` as its last answer), False otherwise. Atomic, so two processes never both win."""
    try:
        await db.execute("INSERT INTO autoreply_replies (user_id, chat_id, replied_at) VALUES (?, ?, ?)",
                         (user_id, chat_id, now))
        return True
    except IntegrityError:  # answered before (or the user is gone: the update then finds no row)
        pass
    result = await db.execute(
        "UPDATE autoreply_replies SET replied_at = ? WHERE user_id = ? AND chat_id = ? AND replied_at <= ?",
        (now, user_id, chat_id, now - window_seconds),
    )
    return result.rowcount == 1


async def release_window(db: Queries, user_id: int, chat_id: str, claimed_at: int) -> None:
    """Give back a claim whose answer could not be sent, so the next message is answered."""
    await db.execute("DELETE FROM autoreply_replies WHERE user_id = ? AND chat_id = ? AND replied_at = ?",
                     (user_id, chat_id, claimed_at))


async def forget_user(db: Queries, user_id: int) -> None:
    for table in ("autoreply_rules", "autoreply_away", "autoreply_replies"):
        await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))

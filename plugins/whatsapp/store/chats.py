"""Chats in the database, and their shape in the API.

A chat row keeps a copy of its newest message for the list; its ack is read back from
``messages``, where it may have risen since.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

from server.db import Queries, retry_deadlocks
from server.pagination import contains_folded, like_pattern
from server.timeutil import iso

from plugins.whatsapp.store.messages import COLUMNS, api_message, row_message, save_message

CHAT_COLUMNS = "wa_id, name, is_group, unread_count, timestamp, last_message"
_PHONE_LIKE = re.compile(r"^[\d\s+().-]*\d[\d\s+().-]*$")  # a number as people write one


def api_chat(chat: dict[str, Any], last: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": chat["id"],
        "name": chat.get("name") or "",
        "isGroup": bool(chat.get("isGroup")),
        "unreadCount": int(chat.get("unreadCount") or 0),
        "timestamp": iso(int(chat.get("timestamp") or 0)),
        "lastMessage": api_message(last) if last else None,
    }


async def save_chat(db: Queries, user_id: int, chat: dict[str, Any]) -> None:
    last = chat.get("lastMessage")
    row = {
        "user_id": user_id,
        "wa_id": chat["id"],
        "page_id": chat.get("pageId") or chat["id"],
        "name": (chat.get("name") or "")[:200],
        "is_group": 1 if chat.get("isGroup") else 0,
        "unread_count": int(chat.get("unreadCount") or 0),
        "timestamp": int(chat.get("timestamp") or 0),
        "last_message": json.dumps(last) if last else None,
    }
    update = ["page_id", "name", "is_group", "unread_count"] + (["last_message"] if last else [])
    await db.upsert("chats", row, keys=["user_id", "wa_id"], update=update, keep_max=["timestamp"])


async def touch_chat_for_message(db: Queries, user_id: int, msg: dict[str, Any]) -> None:
    """Make sure the message's chat exists and shows it as its latest (``pageChatId``: the id the
    page used for the chat, when it is not the one the chat is stored under)."""
    row = {
        "user_id": user_id,
        "wa_id": msg["chatId"],
        "page_id": msg.get("pageChatId") or msg["chatId"],
        "name": "",
        "is_group": 1 if msg["chatId"].endswith("@g.us") else 0,
        "unread_count": 0,
        "timestamp": int(msg.get("timestamp") or 0),
        "last_message": json.dumps(msg),
    }
    await db.upsert("chats", row, keys=["user_id", "wa_id"], update=["page_id"], keep_max=["timestamp"])
    await db.execute(
        "UPDATE chats SET last_message = ? WHERE user_id = ? AND wa_id = ? AND timestamp <= ?",
        (json.dumps(msg), user_id, msg["chatId"], int(msg.get("timestamp") or 0)),
    )


async def save_sync(
    db: Any, user_id: int, chats: Iterable[dict[str, Any]], messages: list[dict[str, Any]], then: Any = None
) -> Any:
    """Store a sync snapshot. Without ``then``, return the messages that were not stored before,
    oldest first; with it, ``await then(tx, those messages)`` runs inside the same transaction
    (after the rows are stored) and what it returns is returned."""
    known: set[str] = set()
    ids = [m["id"] for m in messages]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = await db.fetch_all(
            f"SELECT wa_id FROM messages WHERE user_id = ? AND wa_id IN ({marks})", (user_id, *chunk)
        )
        known.update(r["wa_id"] for r in rows)
    chats = list(chats)

    fresh = sorted((m for m in messages if m["id"] not in known), key=lambda m: int(m.get("timestamp") or 0))

    async def store_all() -> Any:
        async with db.transaction() as tx:
            for chat in chats:
                await save_chat(tx, user_id, chat)
            for msg in messages:
                await save_message(tx, user_id, msg)
            return await then(tx, fresh) if then is not None else fresh

    # Live events upsert the same rows at the same time; MySQL may pick this one as a deadlock victim.
    return await retry_deadlocks(store_all)


async def get_chat(db: Queries, user_id: int, chat_id: str) -> dict[str, Any] | None:
    row = await db.fetch_one(
        f"SELECT {CHAT_COLUMNS} FROM chats WHERE user_id = ? AND wa_id = ?",
        (user_id, chat_id),
    )
    if row is None:
        return None
    return (await _with_current_last(db, user_id, [_row_chat(row)]))[0]


def _row_chat(row: dict[str, Any]) -> dict[str, Any]:
    last = json.loads(row["last_message"]) if row["last_message"] else None
    return api_chat(
        {
            "id": row["wa_id"],
            "name": row["name"],
            "isGroup": row["is_group"],
            "unreadCount": row["unread_count"],
            "timestamp": row["timestamp"],
        },
        last,
    )


async def list_chats(db: Queries, user_id: int, limit: int, offset: int,
                     q: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of chats, newest first; ``q`` keeps those whose name or number holds it, in any
    letter case ("+7 999" finds 79991234567@c.us)."""
    where, params = "user_id = ?", [user_id]
    if q:
        digits = re.sub(r"\D", "", q) if _PHONE_LIKE.match(q) else ""
        where += f" AND ({contains_folded('name', db.dialect)} OR {contains_folded('wa_id', db.dialect)})"
        params += [like_pattern(q.lower()), like_pattern(digits or q.lower())]
    total = await db.fetch_value(f"SELECT COUNT(*) FROM chats WHERE {where}", params)
    rows = await db.fetch_all(
        f"SELECT {CHAT_COLUMNS} FROM chats WHERE {where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return await _with_current_last(db, user_id, [_row_chat(r) for r in rows]), int(total)


async def _with_current_last(db: Queries, user_id: int, chats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A chat row keeps a copy of its last message; the message itself may have changed since (a
    higher ack, an edit, a delete for everyone, its media fetched): answer what is stored now."""
    ids = [c["lastMessage"]["id"] for c in chats if c["lastMessage"]]
    if not ids:
        return chats
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetch_all(f"SELECT {COLUMNS} FROM messages WHERE user_id = ? AND wa_id IN ({marks})", (user_id, *ids))
    current = {r["wa_id"]: api_message(row_message(r)) for r in rows}
    for chat in chats:
        last = chat["lastMessage"]
        if last and last["id"] in current:
            fresh = current[last["id"]]
            fresh["ack"] = max(fresh["ack"], last["ack"])
            chat["lastMessage"] = fresh
    return chats



"""Chats, messages and session states in the database.

Everything is keyed by WhatsApp's own ids and written with upserts, so an event
seen twice (a replay after reconnecting, a sync after a crash) never duplicates a row
and a late ack never lowers a newer one.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable

from server.db import Queries, retry_deadlocks
from server.timeutil import iso, now_db


def api_message(msg: dict[str, Any]) -> dict[str, Any]:
    """A client message dict (timestamp in unix seconds) as docs/api.md shows it."""
    return {
        "id": msg["id"],
        "chatId": msg["chatId"],
        "from": msg.get("from") or "",
        "to": msg.get("to") or "",
        "body": msg.get("body") or "",
        "type": msg.get("type") or "chat",
        "fromMe": bool(msg.get("fromMe")),
        "ack": int(msg.get("ack") or 0),
        "timestamp": iso(int(msg.get("timestamp") or 0)),
    }


def api_chat(chat: dict[str, Any], last: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": chat["id"],
        "name": chat.get("name") or "",
        "isGroup": bool(chat.get("isGroup")),
        "unreadCount": int(chat.get("unreadCount") or 0),
        "timestamp": iso(int(chat.get("timestamp") or 0)),
        "lastMessage": api_message(last) if last else None,
    }


def _message_row(user_id: int, msg: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "wa_id": msg["id"],
        "chat_id": msg["chatId"],
        "from_id": msg.get("from") or "",
        "to_id": msg.get("to") or "",
        "body": msg.get("body") or "",
        "type": msg.get("type") or "chat",
        "from_me": 1 if msg.get("fromMe") else 0,
        "ack": int(msg.get("ack") or 0),
        "timestamp": int(msg.get("timestamp") or 0),
    }


def _row_message(row: dict[str, Any]) -> dict[str, Any]:
    return api_message(
        {
            "id": row["wa_id"],
            "chatId": row["chat_id"],
            "from": row["from_id"],
            "to": row["to_id"],
            "body": row["body"],
            "type": row["type"],
            "fromMe": row["from_me"],
            "ack": row["ack"],
            "timestamp": row["timestamp"],
        }
    )


async def save_message(db: Queries, user_id: int, msg: dict[str, Any]) -> None:
    await db.upsert("messages", _message_row(user_id, msg), keys=["user_id", "wa_id"], update=["body"], keep_max=["ack"])


async def save_ack(db: Queries, user_id: int, wa_id: str, ack: int) -> bool:
    """Raise a message's ack; False when the message is unknown (its row comes with the next sync)."""
    result = await db.execute(
        "UPDATE messages SET ack = ? WHERE user_id = ? AND wa_id = ? AND ack < ?", (ack, user_id, wa_id, ack)
    )
    if result.rowcount:
        return True
    return await db.fetch_value("SELECT COUNT(*) FROM messages WHERE user_id = ? AND wa_id = ?", (user_id, wa_id)) > 0


async def save_chat(db: Queries, user_id: int, chat: dict[str, Any]) -> None:
    last = chat.get("lastMessage")
    row = {
        "user_id": user_id,
        "wa_id": chat["id"],
        "name": (chat.get("name") or "")[:200],
        "is_group": 1 if chat.get("isGroup") else 0,
        "unread_count": int(chat.get("unreadCount") or 0),
        "timestamp": int(chat.get("timestamp") or 0),
        "last_message": json.dumps(last) if last else None,
    }
    update = ["name", "is_group", "unread_count"] + (["last_message"] if last else [])
    await db.upsert("chats", row, keys=["user_id", "wa_id"], update=update, keep_max=["timestamp"])


async def touch_chat_for_message(db: Queries, user_id: int, msg: dict[str, Any]) -> None:
    """Make sure the message's chat exists and shows it as its latest."""
    row = {
        "user_id": user_id,
        "wa_id": msg["chatId"],
        "name": "",
        "is_group": 1 if msg["chatId"].endswith("@g.us") else 0,
        "unread_count": 0,
        "timestamp": int(msg.get("timestamp") or 0),
        "last_message": json.dumps(msg),
    }
    await db.upsert("chats", row, keys=["user_id", "wa_id"], update=[], keep_max=["timestamp"])
    await db.execute(
        "UPDATE chats SET last_message = ? WHERE user_id = ? AND wa_id = ? AND timestamp <= ?",
        (json.dumps(msg), user_id, msg["chatId"], int(msg.get("timestamp") or 0)),
    )


async def save_sync(
    db: Any, user_id: int, chats: Iterable[dict[str, Any]], messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store a sync snapshot; return the messages that were not stored before, oldest first."""
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

    async def store_all() -> None:
        async with db.transaction() as tx:
            for chat in chats:
                await save_chat(tx, user_id, chat)
            for msg in messages:
                await save_message(tx, user_id, msg)

    # Live events upsert the same rows at the same time; MySQL may pick this one as a deadlock victim.
    await retry_deadlocks(store_all)
    fresh = [m for m in messages if m["id"] not in known]
    return sorted(fresh, key=lambda m: int(m.get("timestamp") or 0))


async def get_chat(db: Queries, user_id: int, chat_id: str) -> dict[str, Any] | None:
    row = await db.fetch_one(
        "SELECT wa_id, name, is_group, unread_count, timestamp, last_message FROM chats WHERE user_id = ? AND wa_id = ?",
        (user_id, chat_id),
    )
    if row is None:
        return None
    return (await _with_current_acks(db, user_id, [_row_chat(row)]))[0]


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


async def list_chats(db: Queries, user_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    total = await db.fetch_value("SELECT COUNT(*) FROM chats WHERE user_id = ?", (user_id,))
    rows = await db.fetch_all(
        "SELECT wa_id, name, is_group, unread_count, timestamp, last_message FROM chats"
        " WHERE user_id = ? ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    )
    return await _with_current_acks(db, user_id, [_row_chat(r) for r in rows]), int(total)


async def _with_current_acks(db: Queries, user_id: int, chats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A chat row keeps a copy of its last message; its ack may have risen since, in ``messages``."""
    ids = [c["lastMessage"]["id"] for c in chats if c["lastMessage"]]
    if not ids:
        return chats
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetch_all(f"SELECT wa_id, ack FROM messages WHERE user_id = ? AND wa_id IN ({marks})", (user_id, *ids))
    acks = {r["wa_id"]: int(r["ack"]) for r in rows}
    for chat in chats:
        last = chat["lastMessage"]
        if last and last["id"] in acks:
            last["ack"] = max(last["ack"], acks[last["id"]])
    return chats


async def list_messages(
    db: Queries, user_id: int, chat_id: str, limit: int, offset: int, before: int | None
) -> tuple[list[dict[str, Any]], int]:
    where, params = "user_id = ? AND chat_id = ?", [user_id, chat_id]
    if before is not None:
        where += " AND timestamp < ?"
        params.append(before)
    total = await db.fetch_value(f"SELECT COUNT(*) FROM messages WHERE {where}", params)
    rows = await db.fetch_all(
        f"SELECT wa_id, chat_id, from_id, to_id, body, type, from_me, ack, timestamp FROM messages"
        f" WHERE {where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [_row_message(r) for r in rows], int(total)


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
        "since": since_db,
        "updated_at": now,
    }
    await db.upsert("wa_sessions", row, keys=["user_id"], update=["state", "phone", "pushname", "error", "since", "updated_at"])


async def sessions_to_restore(db: Queries) -> list[int]:
    rows = await db.fetch_all("SELECT user_id FROM wa_sessions WHERE state IN ('CONNECTED', 'DISCONNECTED') ORDER BY user_id")
    return [int(r["user_id"]) for r in rows]


async def saved_state(db: Queries, user_id: int) -> dict[str, Any] | None:
    return await db.fetch_one("SELECT state, phone, pushname, error, since FROM wa_sessions WHERE user_id = ?", (user_id,))

"""Messages in the database, and their shape in the API.

Rows are keyed by WhatsApp's own ids and written with upserts: a message seen twice (a replay
after reconnecting, a sync after a crash) never duplicates a row, and a late ack never lowers a
newer one. What a message carries beyond text (media, a quote, a location) is kept as JSON in
columns of its own; reactions have a table of their own.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from server.db import Queries
from server.timeutil import iso

from plugins.whatsapp.store.people import stored_chat_id

# The columns a message row is read with.
COLUMNS = (
    "wa_id, chat_id, from_id, to_id, author, body, caption, type, from_me, ack, timestamp, quoted_id, quoted,"
    " media, media_status, location, edited, revoked, sent_by"
)
# Set by a newer report of the same message (an edit, a revoke, a decrypted placeholder...).
UPDATED = ["body", "caption", "type", "author", "quoted_id", "quoted", "media", "location"]


def api_message(msg: dict[str, Any], reactions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A client message dict (timestamp in unix seconds) as docs/api.md shows it."""
    media = msg.get("media")
    return {
        "id": msg["id"],
        "chatId": msg["chatId"],
        "from": msg.get("from") or "",
        "to": msg.get("to") or "",
        "author": msg.get("author") or None,
        "body": msg.get("body") or "",
        "type": msg.get("type") or "chat",
        "fromMe": bool(msg.get("fromMe")),
        "ack": int(msg.get("ack") or 0),
        "timestamp": iso(int(msg.get("timestamp") or 0)),
        "caption": msg.get("caption") or None,
        "quotedId": msg.get("quotedId") or None,
        "quoted": _api_quoted(msg.get("quoted")),
        "media": _api_media(media, msg.get("mediaStatus")) if media else None,
        "location": msg.get("location") or None,
        "edited": bool(msg.get("edited")),
        "revoked": bool(msg.get("revoked")),
        "reactions": reactions or [],
        "sentBy": msg.get("sentBy") or None,
    }


def _api_quoted(quoted: dict[str, Any] | None) -> dict[str, Any] | None:
    if not quoted:
        return None
    return {
        "id": quoted.get("id"),
        "body": quoted.get("body") or "",
        "type": quoted.get("type") or "chat",
        "fromMe": bool(quoted.get("fromMe")),
        "from": quoted.get("from") or "",
    }


def _api_media(media: dict[str, Any], status: str | None) -> dict[str, Any]:
    return {
        "mimetype": media.get("mimetype") or "application/octet-stream",
        "filename": media.get("filename") or None,
        "size": media.get("size"),
        "duration": media.get("duration"),
        "width": media.get("width"),
        "height": media.get("height"),
        "thumbnail": media.get("thumbnail") or None,
        "status": status or "remote",
    }


def _json(value: Any) -> str | None:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None


def _message_row(user_id: int, msg: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "wa_id": msg["id"],
        "chat_id": msg["chatId"],
        "from_id": msg.get("from") or "",
        "to_id": msg.get("to") or "",
        "author": msg.get("author") or None,
        "body": msg.get("body") or "",
        "caption": msg.get("caption") or None,
        "type": msg.get("type") or "chat",
        "from_me": 1 if msg.get("fromMe") else 0,
        "ack": int(msg.get("ack") or 0),
        "timestamp": int(msg.get("timestamp") or 0),
        "quoted_id": msg.get("quotedId") or None,
        "quoted": _json(msg.get("quoted")),
        "media": _json(msg.get("media")),
        "location": _json(msg.get("location")),
        "edited": 1 if msg.get("edited") else 0,
        "revoked": 1 if msg.get("revoked") else 0,
        "sent_by": msg.get("sentBy") or None,
    }


def row_message(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a client message dict (what api_message takes)."""
    return {
        "id": row["wa_id"],
        "chatId": row["chat_id"],
        "from": row["from_id"],
        "to": row["to_id"],
        "author": row["author"],
        "body": row["body"],
        "caption": row["caption"],
        "type": row["type"],
        "fromMe": row["from_me"],
        "ack": row["ack"],
        "timestamp": row["timestamp"],
        "quotedId": row["quoted_id"],
        "quoted": json.loads(row["quoted"]) if row["quoted"] else None,
        "media": json.loads(row["media"]) if row["media"] else None,
        "mediaStatus": row["media_status"],
        "location": json.loads(row["location"]) if row["location"] else None,
        "edited": row["edited"],
        "revoked": row["revoked"],
        "sentBy": row["sent_by"],
    }


async def save_message(db: Queries, user_id: int, msg: dict[str, Any]) -> None:
    """Insert or update a message. Its ack only rises, and once edited or revoked it stays so; a
    copy from before the edit or the revoke (a late event, a sync) changes none of its content."""
    row = _message_row(user_id, msg)
    row["media_status"] = ("ready" if msg.get("fromMe") and msg.get("mediaStatus") == "ready" else "remote") if msg.get("media") else None
    await db.upsert("messages", row, keys=["user_id", "wa_id"], update=UPDATED, keep_max=["ack", "edited", "revoked"],
                    fill=["sent_by"], unless_behind=["edited", "revoked"])


async def save_ack(db: Queries, user_id: int, wa_id: str, ack: int) -> bool:
    """Raise a message's ack; False when the message is unknown (its row comes with the next sync)."""
    result = await db.execute(
        "UPDATE messages SET ack = ? WHERE user_id = ? AND wa_id = ? AND ack < ?", (ack, user_id, wa_id, ack)
    )
    if result.rowcount:
        return True
    return await db.fetch_value("SELECT COUNT(*) FROM messages WHERE user_id = ? AND wa_id = ?", (user_id, wa_id)) > 0


async def lock_message(db: Queries, user_id: int, wa_id: str) -> None:
    """Inside a transaction, before reading a message to change it: wait for any other
    transaction changing it, so what is read next is what that one left. On MySQL a plain read
    in REPEATABLE READ would see the row as it was when this transaction first read, and an
    edit stored twice at once (the page's event and the REST call) would publish the old text.
    SQLite runs one writer at a time already."""
    if db.for_update:
        await db.fetch_one(f"SELECT id FROM messages WHERE user_id = ? AND wa_id = ?{db.for_update}", (user_id, wa_id))


async def get_message(db: Queries, user_id: int, wa_id: str) -> dict[str, Any] | None:
    """One message as the API answers it (with its reactions), or None."""
    row = await db.fetch_one(f"SELECT {COLUMNS} FROM messages WHERE user_id = ? AND wa_id = ?", (user_id, wa_id))
    if row is None:
        return None
    reactions = await reactions_of(db, user_id, [wa_id])
    return api_message(row_message(row), reactions.get(wa_id))


async def list_messages(
    db: Queries, user_id: int, chat_id: str, limit: int, offset: int, before: int | None
) -> tuple[list[dict[str, Any]], int]:
    chat_id = await stored_chat_id(db, user_id, chat_id)  # a caller may name the chat by its @lid
    where, params = "user_id = ? AND chat_id = ?", [user_id, chat_id]
    if before is not None:
        where += " AND timestamp < ?"
        params.append(before)
    total = await count_messages(db, user_id, chat_id, before)
    rows = await db.fetch_all(
        f"SELECT {COLUMNS} FROM messages WHERE {where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    reactions = await reactions_of(db, user_id, [r["wa_id"] for r in rows])
    return [api_message(row_message(r), reactions.get(r["wa_id"])) for r in rows], int(total)


async def count_messages(db: Queries, user_id: int, chat_id: str, before: int | None) -> int:
    """How many messages the chat holds (older than ``before``, when given).

    The chat's count is kept by triggers (``chat_message_counts``, migration 0007), so this costs
    the same for ten messages as for a million. Older than ``before`` is that count less the
    messages from ``before`` on: a client paging back from the newest counts only what it has
    paged through already."""
    total = await db.fetch_value(
        "SELECT messages FROM chat_message_counts WHERE user_id = ? AND chat_id = ?", (user_id, chat_id))
    total = int(total or 0)
    if before is not None:
        newer = await db.fetch_value(
            "SELECT COUNT(*) FROM messages WHERE user_id = ? AND chat_id = ? AND timestamp >= ?", (user_id, chat_id, before))
        total -= int(newer or 0)
    return max(total, 0)


# -- what happens to a message after it was sent ------------------------------------------------
async def save_reaction(db: Queries, user_id: int, reaction: dict[str, Any]) -> None:
    """A reaction, or its removal (an empty emoji): one per sender and message."""
    if not reaction.get("emoji"):
        await db.execute(
            "DELETE FROM message_reactions WHERE user_id = ? AND message_id = ? AND sender = ?",
            (user_id, reaction["msgId"], reaction["sender"]),
        )
        return
    row = {
        "user_id": user_id,
        "message_id": reaction["msgId"],
        "sender": reaction["sender"],
        "emoji": reaction["emoji"],
        "from_me": 1 if reaction.get("fromMe") else 0,
        "timestamp": int(reaction.get("timestamp") or 0),
    }
    await db.upsert("message_reactions", row, keys=["user_id", "message_id", "sender"],
                    update=["emoji", "from_me", "timestamp"])


async def reactions_of(db: Queries, user_id: int, message_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The reactions of each message, oldest first: ``{message id: [{from, emoji, fromMe, timestamp}]}``."""
    ids = list(message_ids)
    out: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = await db.fetch_all(
            f"SELECT message_id, sender, emoji, from_me, timestamp FROM message_reactions"
            f" WHERE user_id = ? AND message_id IN ({marks}) ORDER BY timestamp, sender",
            (user_id, *chunk),
        )
        for r in rows:
            out.setdefault(r["message_id"], []).append(
                {"from": r["sender"], "emoji": r["emoji"], "fromMe": bool(r["from_me"]), "timestamp": iso(int(r["timestamp"]))}
            )
    return out


async def save_edit(db: Queries, user_id: int, edit: dict[str, Any]) -> bool:
    """A new text or caption for a message; False when the message is not stored."""
    result = await db.execute(
        "UPDATE messages SET body = CASE WHEN caption IS NULL THEN ? ELSE body END,"
        " caption = CASE WHEN caption IS NULL THEN caption ELSE ? END, edited = 1"
        " WHERE user_id = ? AND wa_id = ?",
        (edit.get("body") or "", edit.get("caption") or edit.get("body") or "", user_id, edit["id"]),
    )
    return bool(result.rowcount)


async def save_revoke(db: Queries, user_id: int, wa_id: str) -> bool:
    """Deleted for everyone: the row stays, marked revoked, with its text, caption and media gone."""
    result = await db.execute(
        "UPDATE messages SET revoked = 1, type = 'revoked', body = '', caption = NULL, media = NULL,"
        " media_status = NULL, location = NULL, quoted = NULL WHERE user_id = ? AND wa_id = ?",
        (user_id, wa_id),
    )
    await db.execute("DELETE FROM message_reactions WHERE user_id = ? AND message_id = ?", (user_id, wa_id))
    return bool(result.rowcount)


async def delete_message(db: Queries, user_id: int, wa_id: str) -> bool:
    """Deleted for me: the row goes."""
    await db.execute("DELETE FROM message_reactions WHERE user_id = ? AND message_id = ?", (user_id, wa_id))
    result = await db.execute("DELETE FROM messages WHERE user_id = ? AND wa_id = ?", (user_id, wa_id))
    return bool(result.rowcount)


async def set_media_status(db: Queries, user_id: int, wa_id: str, status: str) -> None:
    """``remote``, ``ready`` (a copy is kept here), ``expired`` or ``error``."""
    await db.execute("UPDATE messages SET media_status = ? WHERE user_id = ? AND wa_id = ? AND media IS NOT NULL",
                     (status, user_id, wa_id))

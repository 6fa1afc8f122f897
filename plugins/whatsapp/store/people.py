"""People: which ids are one person (a phone id and a privacy id, ``@lid``), the address book,
and whether numbers are on WhatsApp.

One person is one chat. A chat is stored under its phone id (``79991234567@c.us``) as soon as
the page has told which ``@lid`` goes with it; until then under the id the page used. Its
``page_id`` is what the page itself calls it, for calls into the page. A message keeps the id the
page gave it (the page finds it by that id) and is listed under its chat's stored id.
"""
from __future__ import annotations

import time
from typing import Any, Iterable

from server.db import Queries
from server.pagination import contains_folded, like_pattern
from server.timeutil import now_db


def is_lid(chat_id: str | None) -> bool:
    return bool(chat_id) and chat_id.endswith("@lid")


async def save_lids(db: Queries, user_id: int, pairs: Iterable[dict[str, str]]) -> list[tuple[str, str]]:
    """Remember ``{lid, phone}`` pairs; return the ones that are new (or changed)."""
    fresh = []
    for pair in pairs:
        lid, phone = pair.get("lid"), pair.get("phone")
        if not (is_lid(lid) and phone and phone.endswith("@c.us")):
            continue
        known = await db.fetch_value("SELECT phone FROM wa_lids WHERE user_id = ? AND lid = ?", (user_id, lid))
        if known == phone:
            continue
        await db.upsert("wa_lids", {"user_id": user_id, "lid": lid, "phone": phone, "updated_at": now_db()},
                        keys=["user_id", "lid"], update=["phone", "updated_at"])
        fresh.append((lid, phone))
    return fresh


async def phone_of(db: Queries, user_id: int, lid: str) -> str | None:
    return await db.fetch_value("SELECT phone FROM wa_lids WHERE user_id = ? AND lid = ?", (user_id, lid))


async def lid_of(db: Queries, user_id: int, phone: str) -> str | None:
    return await db.fetch_value("SELECT lid FROM wa_lids WHERE user_id = ? AND phone = ? ORDER BY updated_at DESC",
                                (user_id, phone))


async def stored_chat_id(db: Queries, user_id: int, chat_id: str) -> str:
    """The id a chat is stored and listed under: its phone id when its ``@lid`` is known."""
    if is_lid(chat_id):
        return await phone_of(db, user_id, chat_id) or chat_id
    return chat_id


async def page_chat_id(db: Queries, user_id: int, chat_id: str) -> str:
    """The id the page uses for a chat a client names by either of its ids."""
    row = await db.fetch_value("SELECT page_id FROM chats WHERE user_id = ? AND wa_id = ?", (user_id, chat_id))
    if row:
        return row
    if not is_lid(chat_id):
        lid = await lid_of(db, user_id, chat_id)
        if lid and await db.fetch_value("SELECT COUNT(*) FROM chats WHERE user_id = ? AND page_id = ?", (user_id, lid)):
            return lid
    return chat_id


async def merge_person(db: Any, user_id: int, lid: str, phone: str) -> bool:
    """The chat stored under ``lid`` becomes the chat stored under ``phone`` (one person, one chat):
    its messages move over, the two rows become one. True when anything was stored under ``lid``."""
    async with db.transaction() as tx:
        lid_chat = await tx.fetch_one(
            "SELECT unread_count, timestamp, last_message, name FROM chats WHERE user_id = ? AND wa_id = ?", (user_id, lid))
        moved = await tx.execute("UPDATE messages SET chat_id = ? WHERE user_id = ? AND chat_id = ?", (phone, user_id, lid))
        if lid_chat is None:
            return bool(moved.rowcount)
        phone_chat = await tx.fetch_one(
            "SELECT unread_count, timestamp, last_message, name FROM chats WHERE user_id = ? AND wa_id = ?", (user_id, phone))
        if phone_chat is None:
            await tx.execute("UPDATE chats SET wa_id = ?, page_id = ? WHERE user_id = ? AND wa_id = ?", (phone, lid, user_id, lid))
            return True
        newer = lid_chat if int(lid_chat["timestamp"]) >= int(phone_chat["timestamp"]) else phone_chat
        await tx.execute(
            "UPDATE chats SET page_id = ?, unread_count = ?, timestamp = ?, last_message = ?, name = ?"
            " WHERE user_id = ? AND wa_id = ?",
            (lid, int(lid_chat["unread_count"]) + int(phone_chat["unread_count"]), newer["timestamp"],
             newer["last_message"], phone_chat["name"] or lid_chat["name"], user_id, phone),
        )
        await tx.execute("DELETE FROM chats WHERE user_id = ? AND wa_id = ?", (user_id, lid))
        return True


# -- the address book -----------------------------------------------------------------------
async def save_contacts(db: Any, user_id: int, contacts: Iterable[dict[str, Any]]) -> int:
    now = now_db()
    count = 0
    async with db.transaction() as tx:
        for contact in contacts:
            wa_id = contact.get("phone") or contact.get("id")
            if not wa_id:
                continue
            await tx.upsert("wa_contacts", {
                "user_id": user_id, "wa_id": wa_id, "lid": contact.get("lid"), "phone": contact.get("phone"),
                "name": (contact.get("name") or "")[:200], "pushname": (contact.get("pushname") or "")[:200],
                "is_my_contact": 1 if contact.get("isMyContact") else 0, "is_business": 1 if contact.get("isBusiness") else 0,
                "updated_at": now,
            }, keys=["user_id", "wa_id"], update=["lid", "phone", "name", "pushname", "is_my_contact", "is_business", "updated_at"])
            count += 1
    return count


def api_contact(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["wa_id"],
        "lid": row["lid"],
        "phone": (row["phone"] or "").split("@", 1)[0] or None,
        "name": row["name"] or None,
        "pushname": row["pushname"] or None,
        "isMyContact": bool(row["is_my_contact"]),
        "isBusiness": bool(row["is_business"]),
    }


async def list_contacts(db: Queries, user_id: int, q: str | None, limit: int,
                        offset: int) -> tuple[list[dict[str, Any]], int]:
    where, params = "user_id = ?", [user_id]
    if q:
        where += " AND (" + " OR ".join(contains_folded(c, db.dialect) for c in ("name", "pushname", "wa_id")) + ")"
        params += [like_pattern(q.lower())] * 3
    total = await db.fetch_value(f"SELECT COUNT(*) FROM wa_contacts WHERE {where}", params)
    rows = await db.fetch_all(
        f"SELECT wa_id, lid, phone, name, pushname, is_my_contact, is_business FROM wa_contacts WHERE {where}"
        " ORDER BY CASE WHEN name = '' THEN 1 ELSE 0 END, name, pushname, wa_id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [api_contact(r) for r in rows], int(total)


# -- numbers ------------------------------------------------------------------------------------
async def cached_check(db: Queries, user_id: int, phone: str, max_age: float) -> dict[str, Any] | None:
    row = await db.fetch_one(
        "SELECT is_on_whatsapp, wa_id, lid, checked_at FROM wa_number_checks WHERE user_id = ? AND phone = ?",
        (user_id, phone))
    if row is None or time.time() - int(row["checked_at"]) > max_age:
        return None
    return {"phone": phone, "exists": bool(row["is_on_whatsapp"]), "id": row["wa_id"], "lid": row["lid"]}


async def save_check(db: Queries, user_id: int, phone: str, answer: dict[str, Any]) -> None:
    await db.upsert("wa_number_checks", {
        "user_id": user_id, "phone": phone, "is_on_whatsapp": 1 if answer.get("exists") else 0,
        "wa_id": answer.get("id"), "lid": answer.get("lid"), "checked_at": int(time.time()),
    }, keys=["user_id", "phone"], update=["is_on_whatsapp", "wa_id", "lid", "checked_at"])


async def forget_number_data(db: Any, user_id: int) -> None:
    """What belonged to the number that was linked: its chats, messages, reactions, contacts,
    id pairs and number checks (the session's row stays)."""
    async with db.transaction() as tx:
        for table in ("message_reactions", "messages", "chats", "wa_contacts", "wa_lids", "wa_number_checks"):
            await tx.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))

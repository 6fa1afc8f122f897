"""What the sessions report, stored and then published to their users' sockets.

WhatsApp may report a message twice (a replay after reconnecting, a sync after a crash) and an
ack before its message: rows are upserts, each message reaches the sockets once per process, and
an early ack is kept for its message. A reaction, an edit or a delete is published when it
changes what is stored, so the page's own echo of an action this server took is not published
twice.
"""
from __future__ import annotations

import collections
import logging
from typing import Any

from server.db import DatabaseUnavailable, IntegrityError
from server.events import event, user_channel
from server.timeutil import iso

from plugins.whatsapp import store
from plugins.whatsapp.qr import qr_data_url

log = logging.getLogger("wamulti.whatsapp")

RECENT_MESSAGES = 20_000  # message ids remembered per process, to publish each one once
EARLY_ACKS = 5_000  # acks of messages not yet stored, kept until their message arrives


class _Recent(collections.OrderedDict):
    """A bounded mapping that forgets its oldest keys first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any = True) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def api_status(user_id: int, raw: dict[str, Any]) -> dict[str, Any]:
    """A session status as docs/api.md shows it."""
    return {
        "userId": user_id,
        "state": str(getattr(raw["state"], "value", raw["state"])),
        "phone": raw.get("phone"),
        "pushname": raw.get("pushname"),
        "since": iso(raw.get("since")) if raw.get("since") else None,
        "error": raw.get("error"),
    }


class Ingest:
    """The listener of the session manager: one call per event, in order per session."""

    def __init__(self, app: Any, media: Any) -> None:
        self.app = app
        self.media = media  # a MediaService: a message's kept file goes with the message
        self.closing = False
        self.deleted: set[int] = set()
        self._published = _Recent(RECENT_MESSAGES)
        self._early_acks = _Recent(EARLY_ACKS)

    async def __call__(self, key: str, kind: str, data: dict[str, Any]) -> None:
        user_id = int(key)
        if user_id in self.deleted:
            return
        handler = getattr(self, f"on_{kind}", None)
        if handler is None:
            return
        try:
            await handler(user_id, data)
        except (DatabaseUnavailable, IntegrityError) as exc:
            log.warning("could not store a %s event of user %s: %s", kind, user_id, exc)

    async def publish(self, user_id: int, type_: str, data: Any) -> None:
        await self.app.events.publish(user_channel(user_id), event(type_, data))

    # -- the session ------------------------------------------------------------------------------
    async def on_state(self, user_id: int, data: dict[str, Any]) -> None:
        if not self.closing:
            await store.save_state(self.app.db, user_id, data)
        await self.publish(user_id, "session.status", api_status(user_id, data))

    async def on_qr(self, user_id: int, data: dict[str, Any]) -> None:
        await self.publish(user_id, "session.qr", {"qr": data["qr"], "image": qr_data_url(data["qr"])})

    # -- messages and chats ---------------------------------------------------------------------------
    async def on_message(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_message(user_id, data)

    async def record_message(self, user_id: int, msg: dict[str, Any]) -> None:
        """Store a message (also one this server sent: its page event is lost when the session
        restarts at that moment) and publish it once."""
        msg = self._with_early_ack(user_id, msg)
        await store.save_message(self.app.db, user_id, msg)
        await store.touch_chat_for_message(self.app.db, user_id, msg)
        await self._publish_message(user_id, msg)

    async def on_ack(self, user_id: int, data: dict[str, Any]) -> None:
        ack = int(data["ack"])
        if not await store.save_ack(self.app.db, user_id, data["id"], ack):
            key = (user_id, data["id"])
            self._early_acks.remember(key, max(ack, self._early_acks.get(key, -1)))
        await self.publish(user_id, "message.ack", {"id": data["id"], "chatId": data["chatId"], "ack": ack})

    async def on_chat(self, user_id: int, data: dict[str, Any]) -> None:
        await store.save_chat(self.app.db, user_id, data)
        await self.publish_chat(user_id, data["id"])

    async def publish_chat(self, user_id: int, chat_id: str) -> None:
        chat = await store.get_chat(self.app.db, user_id, chat_id)
        if chat is not None:
            await self.publish(user_id, "chat", chat)

    async def on_sync(self, user_id: int, data: dict[str, Any]) -> None:
        chats = data.get("chats", [])
        messages = [self._with_early_ack(user_id, m) for m in data.get("messages", [])]
        fresh = await store.save_sync(self.app.db, user_id, chats, messages)
        # What arrived while nobody listened reaches open sockets like any live message.
        for msg in fresh:
            await store.touch_chat_for_message(self.app.db, user_id, msg)
            await self._publish_message(user_id, msg)
        for chat in chats:
            await self.publish_chat(user_id, chat["id"])
        await self.publish(user_id, "chats.synced", {"chats": len(chats), "newMessages": len(fresh)})

    # -- what happens to a message afterwards ---------------------------------------------------------
    async def on_reaction(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_reaction(user_id, data)

    async def record_reaction(self, user_id: int, reaction: dict[str, Any]) -> None:
        """Store a reaction (or its removal) and publish ``message.reaction`` when it changed anything."""
        db = self.app.db
        before = (await store.reactions_of(db, user_id, [reaction["msgId"]])).get(reaction["msgId"], [])
        was = next((r["emoji"] for r in before if r["from"] == reaction["sender"]), "")
        emoji = reaction.get("emoji") or ""
        if was == emoji:
            return
        await store.save_reaction(db, user_id, reaction)
        await self.publish(user_id, "message.reaction", {
            "id": reaction["msgId"], "chatId": reaction["chatId"], "from": reaction["sender"], "emoji": emoji,
            "fromMe": bool(reaction.get("fromMe")), "timestamp": iso(int(reaction.get("timestamp") or 0)),
        })

    async def on_edit(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_edit(user_id, data)

    async def record_edit(self, user_id: int, edit: dict[str, Any]) -> None:
        """Store a new text or caption and publish ``message.edited`` when it changed anything."""
        before = await store.get_message(self.app.db, user_id, edit["id"])
        if before is None:
            return  # the message itself comes with the next sync, already edited
        text = edit.get("caption") if before["caption"] is not None else edit.get("body")
        if before["edited"] and (before["caption"] if before["caption"] is not None else before["body"]) == (text or ""):
            return
        await store.save_edit(self.app.db, user_id, {"id": edit["id"], "body": text or "", "caption": text or ""})
        after = await store.get_message(self.app.db, user_id, edit["id"])
        await self.publish(user_id, "message.edited", {
            "id": after["id"], "chatId": after["chatId"], "body": after["body"], "caption": after["caption"],
        })
        await self.publish_chat(user_id, after["chatId"])

    async def on_revoke(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_revoke(user_id, data["id"], data.get("chatId"))

    async def record_revoke(self, user_id: int, message_id: str, chat_id: str | None) -> None:
        """Deleted for everyone: the row stays, marked revoked and emptied; ``message.revoked``."""
        before = await store.get_message(self.app.db, user_id, message_id)
        if before is None or before["revoked"]:
            return
        await store.save_revoke(self.app.db, user_id, message_id)
        await self.media.forget_message(user_id, message_id)
        await self.publish(user_id, "message.revoked", {"id": message_id, "chatId": chat_id or before["chatId"]})
        await self.publish_chat(user_id, before["chatId"])

    async def record_deleted(self, user_id: int, message_id: str) -> None:
        """Deleted for me (here only): the row goes; ``message.deleted`` tells the other tabs."""
        before = await store.get_message(self.app.db, user_id, message_id)
        if before is None:
            return
        await store.delete_message(self.app.db, user_id, message_id)
        await self.media.forget_message(user_id, message_id)
        await self.publish(user_id, "message.deleted", {"id": message_id, "chatId": before["chatId"]})
        await self.publish_chat(user_id, before["chatId"])

    # -- helpers ---------------------------------------------------------------------------------------
    async def _publish_message(self, user_id: int, msg: dict[str, Any]) -> None:
        """A ``message`` frame for the user's sockets, once per message."""
        if (user_id, msg["id"]) in self._published:
            return
        self._published.remember((user_id, msg["id"]))
        await self.publish(user_id, "message", store.api_message(msg))

    def _with_early_ack(self, user_id: int, msg: dict[str, Any]) -> dict[str, Any]:
        """The message with an ack that arrived before it, if one did."""
        early = self._early_acks.pop((user_id, msg.get("id")), None)
        if early is not None and early > int(msg.get("ack") or 0):
            return {**msg, "ack": early}
        return msg

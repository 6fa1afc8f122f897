"""What the sessions report, stored and then published: to the user's sockets, and to plugins.

Each change is stored, and the events it makes are published, in one step (``_commit``): the
plugins' ``whatsapp_event_stored`` hooks run inside the very transaction that stores the change
(an outbox of theirs is written with it, or not at all), then the events go out on the bus (the
websocket) and to the plugins' ``whatsapp_event`` queues (``plugin_events``).

WhatsApp may report a message twice (a replay after reconnecting, a sync after a crash) and an
ack before its message: rows are upserts, each message is published once per process, and an
early ack is kept for its message. A reaction, an edit or a delete is published when it changes
what is stored, so the page's own echo of an action this server took is not published twice.
A message this server is sending is published with its ``sentBy`` mark: the page's early report
of it is held until the send returns.
"""
from __future__ import annotations

import collections
import logging
from typing import Any, Awaitable, Callable

from server.db import DatabaseUnavailable, IntegrityError, Queries, retry_deadlocks
from server.events import event, user_channel
from server.plugins import await_me_maybe
from server.timeutil import iso

from plugins.whatsapp import store
from plugins.whatsapp.qr import qr_data_url
from plugins.whatsapp.store import people

log = logging.getLogger("wamulti.whatsapp")

RECENT_MESSAGES = 20_000  # message ids remembered per process, to publish each one once
EARLY_ACKS = 5_000  # acks of messages not yet stored, kept until their message arrives

Frame = tuple[str, Any]
Work = Callable[[Queries], Awaitable[list[Frame]]]


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
        "lid": raw.get("lid"),
        "pushname": raw.get("pushname"),
        "since": iso(raw.get("since")) if raw.get("since") else None,
        "error": raw.get("error"),
        "pairing": _api_pairing(raw.get("pairing")),
        "limits": _api_limits(raw.get("limits")),
    }


def _api_pairing(pairing: dict[str, Any] | None) -> dict[str, Any] | None:
    if not pairing or not pairing.get("code"):
        return None
    return {"code": pairing["code"], "expiresAt": iso(int(pairing["expiresAt"])) if pairing.get("expiresAt") else None}


def _api_limits(limits: dict[str, Any] | None) -> dict[str, Any] | None:
    lock = (limits or {}).get("reachoutTimelock")
    if not lock or not lock.get("active"):
        return None
    return {"reachoutTimelock": {"active": True, "until": iso(int(lock["until"])) if lock.get("until") else None}}


class Ingest:
    """The listener of the session manager: one call per event, in order per session."""

    def __init__(self, app: Any, media: Any, plugin_events: Any) -> None:
        self.app = app
        self.media = media  # a MediaService: a message's kept file goes with the message
        self.plugin_events = plugin_events  # the plugins' whatsapp_event queues
        self.closing = False
        self.deleted: set[int] = set()
        self._published = _Recent(RECENT_MESSAGES)
        self._early_acks = _Recent(EARLY_ACKS)
        self._sending: collections.Counter[int] = collections.Counter()
        self._held: dict[int, list[dict[str, Any]]] = {}

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

    # -- storing and publishing ---------------------------------------------------------------------
    async def _commit(self, user_id: int, work: Work) -> list[Frame]:
        """Store what ``work(q)`` stores (it returns the events it makes) and publish those events.

        With plugins that keep an outbox (``whatsapp_event_stored``), the work and their hooks run
        in one transaction, retried as a whole when MySQL picks it as a deadlock victim."""
        hooks = self.app.plugins.hook.whatsapp_event_stored.get_hookimpls()
        if hooks:
            async def attempt() -> list[Frame]:
                async with self.app.db.transaction() as tx:
                    frames = await work(tx)
                    for type_, data in frames:
                        for impl in hooks:
                            args = {"app": self.app, "tx": tx, "user_id": user_id, "event": event(type_, data)}
                            await await_me_maybe(impl.function(**{n: args[n] for n in impl.argnames}))
                    return frames

            frames = await retry_deadlocks(attempt)
        else:
            frames = await work(self.app.db)
        for type_, data in frames:
            await self.publish(user_id, type_, data)
        return frames

    async def emit(self, user_id: int, type_: str, data: Any) -> None:
        """An event with nothing to store (a QR code, a pairing code...), through the same door."""
        async def nothing(q: Queries) -> list[Frame]:
            return [(type_, data)]

        await self._commit(user_id, nothing)

    async def publish(self, user_id: int, type_: str, data: Any) -> None:
        frame = event(type_, data)
        await self.app.events.publish(user_channel(user_id), frame)
        self.plugin_events.deliver(user_id, frame)

    # -- the session ------------------------------------------------------------------------------
    async def on_state(self, user_id: int, data: dict[str, Any]) -> None:
        if self.closing:
            await self.publish(user_id, "session.status", api_status(user_id, data))
            return
        if data.get("state") == "CONNECTED" and data.get("phone"):
            await self._keep_apart_another_number(user_id, data["phone"])

        async def work(q: Queries) -> list[Frame]:
            await store.save_state(q, user_id, data)
            return [("session.status", api_status(user_id, data))]

        await self._commit(user_id, work)

    async def _keep_apart_another_number(self, user_id: int, phone: str) -> None:
        """Chats and messages belong to the number that had them: a session that connects with
        another number than the stored one starts from nothing."""
        saved = await store.saved_state(self.app.db, user_id)
        if saved and saved["linked_phone"] and saved["linked_phone"] != phone:
            log.info("user %s linked another number: the previous number's chats are deleted", user_id)
            await people.forget_number_data(self.app.db, user_id)
            await self.media.forget_user(user_id)

    async def on_qr(self, user_id: int, data: dict[str, Any]) -> None:
        await self.emit(user_id, "session.qr", {"qr": data["qr"], "image": qr_data_url(data["qr"])})

    async def on_code(self, user_id: int, data: dict[str, Any]) -> None:
        await self.emit(user_id, "session.code", {
            "code": data.get("code"), "expiresAt": iso(int(data["expiresAt"])) if data.get("expiresAt") else None})

    async def on_code_expired(self, user_id: int, data: dict[str, Any]) -> None:
        await self.emit(user_id, "session.code", {"code": None, "expiresAt": None, "expired": True})

    async def on_code_error(self, user_id: int, data: dict[str, Any]) -> None:
        await self.emit(user_id, "session.code", {"code": None, "expiresAt": None,
                                                  "error": str(data.get("message") or "the code could not be made")})

    # -- messages and chats ---------------------------------------------------------------------------
    async def on_message(self, user_id: int, data: dict[str, Any]) -> None:
        if data.get("fromMe") and self._sending[user_id] and (user_id, data["id"]) not in self._published:
            # Probably the page's report of a message this server is sending right now: stored
            # now, published when the send returns, with its sentBy mark.
            self._held.setdefault(user_id, []).append(data)
            await self.record_message(user_id, data, publish=False)
            return
        await self.record_message(user_id, data)

    def sending(self, user_id: int) -> None:
        """A send of this user's session begins (see ``on_message``)."""
        self._sending[user_id] += 1

    async def sent(self, user_id: int) -> None:
        """A send ended (its own message was recorded, or it failed): publish what was held."""
        self._sending[user_id] -= 1
        if self._sending[user_id] <= 0:
            del self._sending[user_id]
            for msg in self._held.pop(user_id, []):
                if (user_id, msg["id"]) not in self._published:
                    await self.record_message(user_id, msg)

    async def record_message(self, user_id: int, msg: dict[str, Any], publish: bool = True) -> None:
        """Store a message (also one this server sent: its page event is lost when the session
        restarts at that moment) and publish it once."""
        msg = self._with_early_ack(user_id, await self._localized(user_id, msg))
        # Published once, but for an encrypted placeholder (type ciphertext): the message it
        # turns into is published again, with the same id, so clients show its text.
        shown = self._published.get((user_id, msg["id"]))
        fresh = publish and (shown is None or (shown == "ciphertext" and msg.get("type") != "ciphertext"))

        async def work(q: Queries) -> list[Frame]:
            await store.save_message(q, user_id, msg)
            await store.touch_chat_for_message(q, user_id, msg)
            if not fresh:
                return []
            return [("message", await store.get_message(q, user_id, msg["id"]) or store.api_message(msg))]

        await self._commit(user_id, work)
        if fresh:
            self._published.remember((user_id, msg["id"]), msg.get("type") or "chat")

    async def on_ack(self, user_id: int, data: dict[str, Any]) -> None:
        ack = int(data["ack"])
        known: list[bool] = []

        async def work(q: Queries) -> list[Frame]:
            known[:] = [await store.save_ack(q, user_id, data["id"], ack)]
            chat_id = await people.stored_chat_id(q, user_id, data["chatId"])
            return [("message.ack", {"id": data["id"], "chatId": chat_id, "ack": ack})]

        await self._commit(user_id, work)
        if not known[0]:
            key = (user_id, data["id"])
            self._early_acks.remember(key, max(ack, self._early_acks.get(key, -1)))

    async def on_chat(self, user_id: int, data: dict[str, Any]) -> None:
        chat = await self._localized_chat(user_id, data)

        async def work(q: Queries) -> list[Frame]:
            await store.save_chat(q, user_id, chat)
            return await _chat_frame(q, user_id, chat["id"])

        await self._commit(user_id, work)

    async def publish_chat(self, user_id: int, chat_id: str) -> None:
        async def work(q: Queries) -> list[Frame]:
            return await _chat_frame(q, user_id, chat_id)

        await self._commit(user_id, work)

    async def on_sync(self, user_id: int, data: dict[str, Any]) -> None:
        chats = [await self._localized_chat(user_id, c) for c in data.get("chats", [])]
        messages = [self._with_early_ack(user_id, await self._localized(user_id, m)) for m in data.get("messages", [])]
        fresh: list[dict[str, Any]] = []

        async def in_tx(q: Queries, new: list[dict[str, Any]]) -> list[Frame]:
            # What arrived while nobody listened reaches sockets and plugins like any live message.
            frames: list[Frame] = []
            for msg in new:
                await store.touch_chat_for_message(q, user_id, msg)
                if (user_id, msg["id"]) not in self._published:
                    frames.append(("message", await store.get_message(q, user_id, msg["id"]) or store.api_message(msg)))
            for chat in chats:
                frames += await _chat_frame(q, user_id, chat["id"])
            frames.append(("chats.synced", {"chats": len(chats), "newMessages": len(new)}))
            fresh[:] = new
            return frames

        frames = await store.save_sync(self.app.db, user_id, chats, messages, then=self._stored_hooks_for(user_id, in_tx))
        for type_, data_ in frames:
            await self.publish(user_id, type_, data_)
        for msg in fresh:
            self._published.remember((user_id, msg["id"]), msg.get("type") or "chat")

    def _stored_hooks_for(self, user_id: int, in_tx: Callable[[Queries, list[dict[str, Any]]], Awaitable[list[Frame]]]) -> Any:
        """``in_tx`` followed by the plugins' ``whatsapp_event_stored`` hooks, for a transaction of
        the store's own (a sync)."""
        async def then(q: Queries, new: list[dict[str, Any]]) -> list[Frame]:
            frames = await in_tx(q, new)
            for impl in self.app.plugins.hook.whatsapp_event_stored.get_hookimpls():
                for type_, data in frames:
                    args = {"app": self.app, "tx": q, "user_id": user_id, "event": event(type_, data)}
                    await await_me_maybe(impl.function(**{n: args[n] for n in impl.argnames}))
            return frames

        return then

    # -- people ----------------------------------------------------------------------------------------
    async def on_lid(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_lids(user_id, data.get("pairs") or [])

    async def record_lids(self, user_id: int, pairs: list[dict[str, str]]) -> None:
        """Which ``@lid`` goes with which phone: a person's two chats become one (``chat.merged``)."""
        for lid, phone in await people.save_lids(self.app.db, user_id, pairs):
            if await people.merge_person(self.app.db, user_id, lid, phone):
                async def work(q: Queries, lid: str = lid, phone: str = phone) -> list[Frame]:
                    return [("chat.merged", {"id": lid, "into": phone}), *await _chat_frame(q, user_id, phone)]

                await self._commit(user_id, work)

    async def _localized(self, user_id: int, msg: dict[str, Any]) -> dict[str, Any]:
        """A message listed under its chat's stored id (the phone one when its @lid is known)."""
        stored = await people.stored_chat_id(self.app.db, user_id, msg["chatId"])
        return msg if stored == msg["chatId"] else {**msg, "chatId": stored, "pageChatId": msg["chatId"]}

    async def _localized_chat(self, user_id: int, chat: dict[str, Any]) -> dict[str, Any]:
        stored = await people.stored_chat_id(self.app.db, user_id, chat["id"])
        out = {**chat, "id": stored, "pageId": chat["id"]}
        if chat.get("lastMessage"):
            out["lastMessage"] = await self._localized(user_id, chat["lastMessage"])
        return out

    # -- what happens to a message afterwards ---------------------------------------------------------
    async def on_reaction(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_reaction(user_id, data)

    async def record_reaction(self, user_id: int, reaction: dict[str, Any]) -> None:
        """Store a reaction (or its removal); ``message.reaction`` when it changed anything."""
        emoji = reaction.get("emoji") or ""

        async def work(q: Queries) -> list[Frame]:
            # The same reaction stored twice at once (the REST call and the page's event): the
            # second waits for the first and sees it, so one frame is published, not two.
            await store.lock_message(q, user_id, reaction["msgId"])
            before = (await store.reactions_of(q, user_id, [reaction["msgId"]])).get(reaction["msgId"], [])
            if next((r["emoji"] for r in before if r["from"] == reaction["sender"]), "") == emoji:
                return []
            await store.save_reaction(q, user_id, reaction)
            chat_id = await people.stored_chat_id(q, user_id, reaction["chatId"])
            return [("message.reaction", {
                "id": reaction["msgId"], "chatId": chat_id, "from": reaction["sender"], "emoji": emoji,
                "fromMe": bool(reaction.get("fromMe")), "timestamp": iso(int(reaction.get("timestamp") or 0)),
            })]

        await self._commit(user_id, work)

    async def on_edit(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_edit(user_id, data)

    async def record_edit(self, user_id: int, edit: dict[str, Any]) -> None:
        """Store a new text or caption; ``message.edited`` when it changed anything."""
        async def work(q: Queries) -> list[Frame]:
            await store.lock_message(q, user_id, edit["id"])
            before = await store.get_message(q, user_id, edit["id"])
            if before is None:
                return []  # the message itself comes with the next sync, already edited
            is_media = before["caption"] is not None
            text = (edit.get("caption") if is_media else edit.get("body")) or ""
            if before["edited"] and (before["caption"] if is_media else before["body"]) == text:
                return []
            await store.save_edit(q, user_id, {"id": edit["id"], "body": text, "caption": text})
            after = await store.get_message(q, user_id, edit["id"])
            return [("message.edited", {"id": after["id"], "chatId": after["chatId"], "body": after["body"],
                                        "caption": after["caption"]}),
                    *await _chat_frame(q, user_id, after["chatId"])]

        await self._commit(user_id, work)

    async def on_revoke(self, user_id: int, data: dict[str, Any]) -> None:
        await self.record_revoke(user_id, data["id"])

    async def record_revoke(self, user_id: int, message_id: str) -> None:
        """Deleted for everyone: the row stays, marked revoked and emptied; ``message.revoked``."""
        async def work(q: Queries) -> list[Frame]:
            await store.lock_message(q, user_id, message_id)
            before = await store.get_message(q, user_id, message_id)
            if before is None or before["revoked"]:
                return []
            await store.save_revoke(q, user_id, message_id)
            return [("message.revoked", {"id": message_id, "chatId": before["chatId"]}),
                    *await _chat_frame(q, user_id, before["chatId"])]

        if await self._commit(user_id, work):
            await self.media.forget_message(user_id, message_id)

    async def record_deleted(self, user_id: int, message_id: str) -> None:
        """Deleted for me (here only): the row goes; ``message.deleted`` tells the other tabs."""
        async def work(q: Queries) -> list[Frame]:
            before = await store.get_message(q, user_id, message_id)
            if before is None:
                return []
            await store.delete_message(q, user_id, message_id)
            return [("message.deleted", {"id": message_id, "chatId": before["chatId"]}),
                    *await _chat_frame(q, user_id, before["chatId"])]

        if await self._commit(user_id, work):
            await self.media.forget_message(user_id, message_id)

    # -- helpers ---------------------------------------------------------------------------------------
    def _with_early_ack(self, user_id: int, msg: dict[str, Any]) -> dict[str, Any]:
        """The message with an ack that arrived before it, if one did."""
        early = self._early_acks.pop((user_id, msg.get("id")), None)
        if early is not None and early > int(msg.get("ack") or 0):
            return {**msg, "ack": early}
        return msg


async def _chat_frame(q: Queries, user_id: int, chat_id: str) -> list[Frame]:
    chat = await store.get_chat(q, user_id, chat_id)
    return [("chat", chat)] if chat is not None else []

"""What a user does with messages through their session: send (text, media, a location, a reply),
react, edit, delete, and mark a chat read.

Every action that sends something to WhatsApp goes through the session's queue
(``sendqueue``): in the order the server accepted it, at the session's rate. The answer comes
when WhatsApp took it, and what changed is stored and published at once (the page's own echo
of it later changes nothing).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from clients import (
    ActionRefused,
    MediaError,
    MessageNotFound,
    NotConnected,
    SessionError,
    SessionManager,
    chat_id_of,
)
from server.errors import ApiError, Conflict, NotFound, ValidationFailed
from server.timeutil import iso

from plugins.whatsapp import store
from plugins.whatsapp.store import people
from plugins.whatsapp.ingest import Ingest
from plugins.whatsapp.recent_sends import RecentSends
from plugins.whatsapp.sendqueue import SendQueues

if TYPE_CHECKING:
    from plugins.whatsapp.media import MediaService


class Messaging:
    def __init__(self, app: Any, manager: SessionManager, queues: SendQueues, ingest: Ingest,
                 media: MediaService) -> None:
        self.app = app
        self.manager = manager
        self.queues = queues
        self.ingest = ingest
        self.media = media
        self.recent = RecentSends()

    # -- sending ------------------------------------------------------------------------------------
    async def send(self, user_id: int, request: dict[str, Any], sent_by: str = "user") -> dict[str, Any]:
        """Send what ``request`` (a loaded ``SendSchema``) says; the API message once WhatsApp took it.
        ``sent_by`` marks the message (``user``, or ``plugin:<name>``).

        409 when the session is not connected, 429 when its queue is full, 404 for a mediaId that
        is not this user's, 422 for a reply to a message the session does not know. A ``clientId``
        seen before (``recent_sends``) is not sent again.
        """
        async def send_it() -> dict[str, Any]:
            return await self._send(user_id, request, sent_by)

        sent, first = await self.recent.once(user_id, request.get("client_id"), send_it)
        if not first:  # a repeat: the message as it is now
            return await store.get_message(self.app.db, user_id, sent["id"]) or sent
        return sent

    async def _send(self, user_id: int, request: dict[str, Any], sent_by: str) -> dict[str, Any]:
        key = str(user_id)
        self._require_connected(user_id)
        chat_id = await people.page_chat_id(self.app.db, user_id, chat_id_of(request["to"]))
        quoted = request.get("reply_to")
        outgoing = None
        if request.get("media_id"):
            outgoing = await self.media.for_send(user_id, request["media_id"], request.get("as_"))

        async def job() -> dict[str, Any]:
            if outgoing is not None:
                return await self.manager.send_media(
                    key, chat_id, outgoing.path, mimetype=outgoing.mimetype, kind=outgoing.kind,
                    filename=outgoing.filename, caption=request.get("caption"), quoted_id=quoted)
            if request.get("location"):
                place = request["location"]
                return await self.manager.send_location(
                    key, chat_id, latitude=place["latitude"], longitude=place["longitude"], name=place.get("name"),
                    address=place.get("address"), quoted_id=quoted)
            return await self.manager.send_text(key, chat_id, request["message"], quoted_id=quoted)

        self.ingest.sending(user_id)
        try:
            try:
                sent = await self.queues.run(key, job)
            except MessageNotFound:
                raise ValidationFailed({"replyTo": ["No such message in this session."]}) from None
            except SessionError as exc:
                raise self._refusal(user_id, exc) from None
            sent = {**sent, "sentBy": sent_by}
            if outgoing is not None:
                sent["mediaStatus"] = "ready"
                await self.media.link_sent(user_id, outgoing, sent["id"])
            await self.ingest.record_message(user_id, sent)
        finally:
            await self.ingest.sent(user_id)
        return await store.get_message(self.app.db, user_id, sent["id"]) or store.api_message(sent)

    # -- acting on a message ---------------------------------------------------------------------------
    async def react(self, user_id: int, message_id: str, emoji: str) -> dict[str, Any]:
        """React to a message ("" takes our reaction back); the message with its reactions."""
        key = str(user_id)
        self._require_connected(user_id)
        message = await self._stored(user_id, message_id)
        await self._act(user_id, lambda: self.manager.react(key, message_id, emoji))
        me = self.manager.status(key).get("phone")
        await self.ingest.record_reaction(user_id, {
            "msgId": message_id, "chatId": message["chatId"], "sender": f"{me}@c.us" if me else "me",
            "emoji": emoji, "fromMe": True, "timestamp": int(time.time()),
        })
        return await store.get_message(self.app.db, user_id, message_id)

    async def edit(self, user_id: int, message_id: str, body: str) -> dict[str, Any]:
        """A new text (or caption) for one of our own messages, within WhatsApp's edit window."""
        key = str(user_id)
        self._require_connected(user_id)
        message = await self._stored(user_id, message_id)
        if not message["fromMe"]:
            raise Conflict("Only your own messages can be edited.")
        await self._act(user_id, lambda: self.manager.edit(key, message_id, body))
        await self.ingest.record_edit(user_id, {"id": message_id, "chatId": message["chatId"], "body": body, "caption": body})
        return await store.get_message(self.app.db, user_id, message_id)

    async def delete(self, user_id: int, message_id: str, everyone: bool) -> None:
        """Delete a message for everyone (our own, while WhatsApp allows it) or for me."""
        key = str(user_id)
        self._require_connected(user_id)
        message = await self._stored(user_id, message_id)
        if everyone and not message["fromMe"]:
            raise Conflict("Only your own messages can be deleted for everyone.")
        await self._act(user_id, lambda: self.manager.revoke(key, message_id, everyone=everyone))
        if everyone:
            await self.ingest.record_revoke(user_id, message_id)
        else:
            await self.ingest.record_deleted(user_id, message_id)

    async def read(self, user_id: int, chat_id: str) -> dict[str, Any]:
        """Send the read receipt (the sender sees blue ticks) and set our unread count to 0."""
        key = str(user_id)
        self._require_connected(user_id)
        db = self.app.db
        chat_id = await people.stored_chat_id(db, user_id, chat_id)  # a client may name it by its @lid
        try:
            await self.manager.mark_read(key, await people.page_chat_id(db, user_id, chat_id))
        except SessionError as exc:
            raise self._refusal(user_id, exc) from None
        await db.execute("UPDATE chats SET unread_count = 0 WHERE user_id = ? AND wa_id = ?", (user_id, chat_id))
        chat = await store.get_chat(self.app.db, user_id, chat_id)
        if chat is None:
            raise NotFound("No such chat.")
        await self.ingest.publish(user_id, "chat", chat)
        return chat

    # -- helpers --------------------------------------------------------------------------------------------
    async def _stored(self, user_id: int, message_id: str) -> dict[str, Any]:
        message = await store.get_message(self.app.db, user_id, message_id)
        if message is None:
            raise NotFound("No such message.")
        if message["revoked"]:
            raise Conflict("That message was deleted for everyone.")
        return message

    async def _act(self, user_id: int, call: Any) -> None:
        try:
            await self.queues.run(str(user_id), call)
        except SessionError as exc:
            raise self._refusal(user_id, exc) from None

    def _require_connected(self, user_id: int) -> None:
        if self.manager.status(str(user_id))["state"] != "CONNECTED":
            raise self._not_connected(user_id)

    def _not_connected(self, user_id: int) -> Conflict:
        state = str(self.manager.status(str(user_id))["state"])
        return Conflict("The WhatsApp session is not connected.", extra={"state": state})

    def _refusal(self, user_id: int, exc: SessionError) -> ApiError:
        """A failure of the session, in the API's terms."""
        if isinstance(exc, NotConnected):
            return self._not_connected(user_id)
        if isinstance(exc, MessageNotFound):
            return NotFound("WhatsApp does not know that message in this session.")
        if getattr(exc, "reason", None):  # clients.SendRefused: WhatsApp's own limits
            until = getattr(exc, "until", None)
            return Conflict(f"WhatsApp refused the message: {exc}", code="send_refused",
                            extra={"reason": exc.reason, "until": iso(int(until)) if until else None})
        if isinstance(exc, ActionRefused):
            return Conflict(f"WhatsApp refused: {exc}")
        if isinstance(exc, MediaError):
            return ApiError(502, f"The media could not be sent: {exc}")
        return ApiError(502, f"WhatsApp did not do it: {exc}")

"""What a plugin may do through a user's WhatsApp session, without importing the whatsapp plugin.

    from server.whatsapp_api import whatsapp

    @hookimpl
    async def whatsapp_event(app, user_id, event):
        data = event["data"]
        if event["type"] == "message" and not data["fromMe"] and data["body"] == "ping":
            await whatsapp(app).send_text(user_id, data["chatId"], "pong", reply_to=data["id"], plugin="pingbot")

The rules are the REST API's: each session's sends wait their turn in its queue at its rate
(``RateLimited`` only when the queue is full), and a session that is not connected raises
``Conflict`` (with ``state``). Errors are ``server.errors.ApiError`` subclasses, as a route
would answer them. ``plugin`` names the sender: the message is stored and published with
``sentBy: "plugin:<name>"``, so every plugin (the sender included) can tell it apart.
Messages and chats are the objects of the REST API (docs/api.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

STATE_KEY = "whatsapp.api"  # in app.state; no plugin can be named with a dot


class WhatsAppAPI(Protocol):
    async def status(self, user_id: int) -> dict[str, Any]:
        """The session status (``state`` ``CONNECTED`` when it can send)."""

    async def send_text(self, user_id: int, to: str, text: str, *, reply_to: str | None = None,
                        plugin: str) -> dict[str, Any]:
        """Send a text to a phone number or chat id; the message once it left."""

    async def send_media(self, user_id: int, to: str, data: bytes | Path, *, mimetype: str, filename: str | None = None,
                         caption: str | None = None, kind: str | None = None, reply_to: str | None = None,
                         plugin: str) -> dict[str, Any]:
        """Send a file (bytes, or a path to read): ``kind`` ``image``, ``video``, ``audio``, ``voice``,
        ``document`` or ``sticker`` (default: from the type). It counts against the user's media quota."""

    async def react(self, user_id: int, message_id: str, emoji: str, *, plugin: str) -> dict[str, Any]:
        """React to a message ("" takes the reaction back); the message with its reactions."""

    async def mark_read(self, user_id: int, chat_id: str) -> dict[str, Any]:
        """Send the read receipt of a chat; the chat."""

    async def chats(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """The user's chats, newest first (from the database)."""

    async def messages(self, user_id: int, chat_id: str, *, limit: int = 50, before: int | None = None) -> list[dict[str, Any]]:
        """A chat's messages, newest first (from the database); ``before`` unix seconds."""

    async def message(self, user_id: int, message_id: str) -> dict[str, Any] | None:
        """One message, or None."""


def whatsapp(app: Any) -> WhatsAppAPI:
    """The sessions' API; LookupError when the whatsapp plugin is switched off."""
    api = app.state.get(STATE_KEY)
    if api is None:
        raise LookupError("the whatsapp plugin is not enabled on this server")
    return api

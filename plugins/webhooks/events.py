"""What a delivery carries: the event types, each event's id, its order key and its body.

An event is a WhatsApp websocket frame ``{type, data}`` (docs/websocket.md). Its delivery body is
``{id, type, timestamp, userId, data}``; ``id`` is also the ``webhook-id`` header, the same on
every attempt and redelivery, so a receiver can drop an event it already has. A ``message``
event's id is derived from the user and the message, so the same message reported twice (a
replay after a restart) makes one delivery, not two.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import datetime, timezone
from typing import Any

# Every event type an endpoint may ask for; "*" asks for all of them, and for types added later.
EVENT_TYPES = (
    "session.status", "session.qr", "session.code",
    "message", "message.ack", "message.reaction", "message.edited", "message.revoked", "message.deleted",
    "chat", "chat.merged", "chats.synced",
)
ALL = "*"
SESSION_ORDER = "session"  # the order key of events that name no chat
_MAX_KEY = 191  # the column's length


def wants(event_types: list[str], type_: str) -> bool:
    return ALL in event_types or type_ in event_types


def event_id(user_id: int, event: dict[str, Any]) -> str:
    """The event's ``webhook-id``: derived from the message for a ``message``, random otherwise."""
    data = event.get("data") or {}
    if event.get("type") == "message" and isinstance(data, dict) and data.get("id"):
        raw = hashlib.sha256(f"{user_id}\0message\0{data['id']}".encode("utf-8")).digest()[:16]
    else:
        raw = secrets.token_bytes(16)
    return "evt_" + base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def order_key(event: dict[str, Any]) -> str:
    """Deliveries of one endpoint with the same key go out in the order their events happened:
    a chat's events by chat, the others (session status, QR codes...) as one line."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    type_ = event.get("type")
    if type_ == "chat":
        chat = data.get("id")
    elif type_ == "chat.merged":
        chat = data.get("into")
    else:
        chat = data.get("chatId")
    if not chat:
        return SESSION_ORDER
    key = f"chat:{chat}"
    if len(key) > _MAX_KEY:
        key = "chat#" + hashlib.sha256(str(chat).encode("utf-8")).hexdigest()
    return key


def body(event_id_: str, user_id: int, event: dict[str, Any]) -> str:
    """The JSON text every attempt sends, byte for byte (the signature covers exactly it)."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload = {"id": event_id_, "type": event.get("type"), "timestamp": now, "userId": user_id, "data": event.get("data")}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)

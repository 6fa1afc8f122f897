"""Which WhatsApp messages the bot may answer, and which keyword rule a text matches.

Pure functions of an event and the stored rows: no database, no session.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

# How a rule's keyword is looked for in a message, case and width ignored. There is no regular
# expression kind on purpose: the bot runs on the server's event loop, and one user's
# catastrophic pattern (``(a+)+$``) would stall every session of the server.
MATCH_KINDS = ("contains", "word", "exact", "starts_with")

# Chats of one person: a phone number (@c.us) or a privacy id (@lid). Groups (@g.us), status
# updates (status@broadcast), broadcast lists and channels are never answered.
PERSON_CHATS = ("@c.us", "@lid")

# Messages a person wrote; notifications, call logs and deleted messages are not answered.
ANSWERED_TYPES = frozenset({"chat", "image", "video", "audio", "ptt", "document", "sticker", "location", "vcard",
                            "multi_vcard"})


def normalized(text: str) -> str:
    """The form texts are compared in: compatibility characters folded (full-width letters), case
    folded, runs of white space made one space, outer ones dropped."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def answerable(event: dict[str, Any], *, now: datetime, max_age_seconds: int) -> dict[str, Any] | None:
    """The message of ``event`` when the bot may answer it, else None.

    Only a new message from a person in a one-to-one chat: never one of the account's own
    (``fromMe``: typed on the phone, sent through the API, or sent by a plugin, this one
    included, which ``sentBy`` also marks), never a group, a status update or a broadcast, and
    never one older than ``max_age_seconds`` (WhatsApp replays recent messages when a session
    comes back; they were answered, or not, the first time).
    """
    if event.get("type") != "message":
        return None
    data = event.get("data") or {}
    if data.get("fromMe") or data.get("sentBy"):
        return None
    chat_id = data.get("chatId") or ""
    if not chat_id.endswith(PERSON_CHATS):
        return None
    if data.get("type") not in ANSWERED_TYPES or data.get("revoked"):
        return None
    sent = _parse_time(data.get("timestamp"))
    if sent is None or (now - sent).total_seconds() > max_age_seconds:
        return None
    return data


def message_text(message: dict[str, Any]) -> str:
    """What keywords are looked for in: the text, or a file's caption."""
    return message.get("body") or message.get("caption") or ""


def matches(rule: dict[str, Any], text: str) -> bool:
    """Whether ``text`` matches the rule's keyword the rule's way.

    Raises ValueError for a rule this version cannot apply (a ``match_kind`` it does not know,
    as a newer version of the plugin or a hand-written row may store).
    """
    kind = rule["match_kind"]
    keyword, said = normalized(rule["keyword"]), normalized(text)
    if not keyword:
        raise ValueError(f"rule {rule['id']} has an empty keyword")
    if kind == "contains":
        return keyword in said
    if kind == "word":
        return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", said) is not None
    if kind == "exact":
        return said == keyword
    if kind == "starts_with":
        return said.startswith(keyword)
    raise ValueError(f"rule {rule['id']} has a match kind this version does not know: {kind!r}")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

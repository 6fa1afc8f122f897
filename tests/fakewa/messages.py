"""A message of the simulated network, and how each side sees it.

One ``Message`` is shared by its two phones (or by the members of its group); ``view(side)`` is what
``Msg.serialize()`` gives on that side's web devices (the site's attribute names:
``quotedStanzaID``, ``directPath``, ``latestEditMsgKey``...), ``listing(side)`` what the control API
shows of it (no media secrets), and ``reaction_row`` a row of the site's reaction table.

How a side names the people of a chat (``79990000002@c.us`` or an ``@lid``) is the network's
business: a message asks its ``Addressing`` (``network.Network``).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .media import MEDIA_TYPES, Upload


def chat_id(phone: str) -> str:
    return f"{phone}@c.us"


class Addressing(Protocol):
    """How each phone names the others (the network answers; see ``addressing.py``)."""

    def chat_wid(self, viewer: str, other: str) -> str:
        """The id of ``viewer``'s 1:1 chat with ``other``: ``<phone>@c.us`` or ``<lid>@lid``."""

    def own_wid(self, viewer: str, other: str) -> str:
        """How ``viewer`` writes itself in that chat (its own LID in a chat addressed by LID)."""

    def member_wid(self, group_id: str, phone: str) -> str:
        """How a group names a member (its LID in a group in LID addressing mode)."""

    def group_members(self, group_id: str) -> list[str]:
        """The phones of a group's members now."""


class PhoneNumbersOnly:
    """The addressing of a network without LIDs (a message made outside a network)."""

    def chat_wid(self, viewer: str, other: str) -> str:
        return chat_id(other)

    def own_wid(self, viewer: str, other: str) -> str:
        return chat_id(viewer)

    def member_wid(self, group_id: str, phone: str) -> str:
        return chat_id(phone)

    def group_members(self, group_id: str) -> list[str]:
        return []


def new_message_id() -> str:
    """Ids as the phone app makes them: 32 upper-case hex digits (the web client's start 3EB0)."""
    return secrets.token_hex(16).upper()


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class MediaRef:
    """A file a message carries: what the recipients are told, and where the CDN keeps it."""

    mimetype: str
    size: int
    upload: Upload
    filehash: str  # base64 sha256, as WhatsApp writes it
    filename: str | None = None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    thumbnail: str | None = None  # base64 JPEG, carried inline (the message's body on the site)

    def attrs(self) -> dict[str, Any]:
        """The message attributes the site has for a media message (secrets included: the page
        needs them to download)."""
        out = {
            "mimetype": self.mimetype, "size": self.size, "filehash": self.filehash,
            "directPath": self.upload.direct_path, "mediaKey": self.upload.media_key,
            "mediaKeyTimestamp": self.upload.media_key_timestamp, "encFilehash": self.upload.enc_filehash,
            "deprecatedMms3Url": "https://mmg.whatsapp.net" + self.upload.direct_path,
        }
        for name in ("filename", "duration", "width", "height"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass
class Reaction:
    emoji: str
    t_ms: int
    id: str


@dataclass
class Edit:
    id: str
    t_ms: int


@dataclass
class Message:
    id: str
    sender: str
    recipient: str  # a phone, or the group's id for a group message
    body: str
    t: int
    ack: int = 0
    type: str = "chat"
    caption: str | None = None
    media: MediaRef | None = None
    location: dict[str, Any] | None = None  # {lat, lng, loc}: loc is "name\naddress"
    quoted: "Message | None" = None
    quoted_snapshot: dict[str, Any] | None = None  # {type, body, caption} when it was quoted
    reactions: dict[str, Reaction] = field(default_factory=dict)  # phone -> its one reaction
    edit: Edit | None = None
    revoked: bool = False
    deleted_for: set[str] = field(default_factory=set)  # phones that deleted it for themselves
    group: str | None = None  # the group's id for a group message
    net: Addressing = field(default_factory=PhoneNumbersOnly, repr=False, compare=False)

    def counterpart(self, side: str) -> str:
        """The other phone of a 1:1 message, or the group's id."""
        if self.group is not None:
            return self.group
        return self.recipient if side == self.sender else self.sender

    def parties(self) -> list[str]:
        """The phones that hold this message: both sides, or the sender and the group's members."""
        if self.group is not None:
            return list(dict.fromkeys([self.sender, *self.net.group_members(self.group)]))
        return list(dict.fromkeys([self.sender, self.recipient]))

    def has_party(self, phone: str) -> bool:
        return phone == self.sender or (phone == self.recipient if self.group is None else phone in self.parties())

    def wid_of(self, phone: str, side: str) -> str:
        """How ``side`` names ``phone`` (a party) in this message's chat."""
        if self.group is not None:
            return self.net.member_wid(self.group, phone)
        if phone == side:
            return self.net.own_wid(side, self.counterpart(side))
        return self.net.chat_wid(side, phone)

    def remote(self, side: str) -> str:
        """The chat's id as ``side`` sees it."""
        return self.group if self.group is not None else self.net.chat_wid(side, self.counterpart(side))

    def serialized(self, side: str) -> str:
        """The key's string as seen by ``side``: ``true_<remote>_<id>`` for the sender
        (``_<participant>`` added in a group)."""
        return self.key_of(self.sender, self.id, side)

    def key_of(self, author: str, msg_id: str, side: str) -> str:
        """The key of a message ``author`` sent in this chat (an edit, a reaction), seen by ``side``."""
        from_me = "true" if side == author else "false"
        key = f"{from_me}_{self.remote(side)}_{msg_id}"
        return key + f"_{self.wid_of(author, side)}" if self.group is not None else key

    def snapshot(self) -> dict[str, Any]:
        """What a reply carries of this message (the site's ``quotedMsg``)."""
        return {"type": self.type if not self.revoked else "revoked",
                "body": self.body if self.type in ("chat",) and not self.revoked else "",
                "caption": self.caption if not self.revoked else None}

    def view(self, side: str) -> dict[str, Any]:
        """The message as one phone's devices see it (``Msg.serialize()`` fields)."""
        key: dict[str, Any] = {
            "fromMe": side == self.sender,
            "remote": self.remote(side),
            "id": self.id,
            "_serialized": self.serialized(side),
        }
        if self.group is not None:
            key["participant"] = self.wid_of(self.sender, side)
            sender, to = (key["participant"], self.group) if side == self.sender else (self.group, self.wid_of(side, side))
        else:
            sender, to = self.wid_of(self.sender, side), self.wid_of(self.recipient, side)
        out: dict[str, Any] = {
            "id": key,
            "from": sender,
            "to": to,
            "body": self.body,
            "type": self.type,
            "t": self.t,
            "ack": self.ack,
        }
        if self.group is not None:
            out["author"] = key["participant"]
        if self.revoked:
            out.update(type="revoked", body="")
            return out
        if self.caption is not None:
            out["caption"] = self.caption
        if self.media is not None:
            out.update(self.media.attrs())
            out["body"] = self.media.thumbnail or ""
        if self.location is not None:
            out.update(lat=self.location["lat"], lng=self.location["lng"], loc=self.location["loc"])
        if self.quoted is not None:
            out.update(quotedStanzaID=self.quoted.id, quotedParticipant=self.wid_of(self.quoted.sender, side),
                       quotedMsg=dict(self.quoted_snapshot or self.quoted.snapshot()))
        if self.edit is not None:
            out.update(latestEditMsgKey=self.key_of(self.sender, self.edit.id, side),
                       latestEditSenderTimestampMs=self.edit.t_ms, editMsgType=self.type)
        return out

    def listing(self, side: str) -> dict[str, Any]:
        """The message in ``GET /__sim/phones/{side}/messages``: no media secrets."""
        view = self.view(side)
        media = None
        if self.media is not None and not self.revoked:
            media = {"mimetype": self.media.mimetype, "filename": self.media.filename,
                     "size": self.media.size, "sha256": self.media.upload.sha256}
        location = None
        if self.location is not None and not self.revoked:
            name, _, address = self.location["loc"].partition("\n")
            location = {"latitude": self.location["lat"], "longitude": self.location["lng"],
                        "name": name or None, "address": address or None}
        return {
            "id": view["id"], "from": view["from"], "to": view["to"], "t": self.t, "ack": self.ack,
            "chatId": view["id"]["remote"],
            "counterpart": None if self.group is not None else self.counterpart(side),
            "sender": chat_id(self.sender),
            "type": view["type"],
            "body": "" if self.type in MEDIA_TYPES or self.revoked else self.body,
            "caption": None if self.revoked else self.caption,
            "media": media,
            "location": location,
            "quotedId": self.quoted.serialized(side) if self.quoted is not None and not self.revoked else None,
            "reactions": [{"sender": chat_id(p), "emoji": r.emoji} for p, r in self.reactions.items()],
            "edited": self.edit is not None,
            "revoked": self.revoked,
        }

    def reaction_row(self, reactor: str, side: str, emoji: str, t_ms: int, reaction_id: str) -> dict[str, Any]:
        """A row of the site's reaction table (``reactionTableMode``) on ``side``'s devices."""
        return {
            "msgKey": self.key_of(reactor, reaction_id, side),
            "parentMsgKey": self.serialized(side),
            "senderUserJid": self.wid_of(reactor, side),
            "reactionText": emoji,
            "timestamp": t_ms,
            "orphan": 0,
            "read": side == reactor,
        }

"""What a phone does to messages already sent (react, edit, delete for everyone or for itself)
and what the network does to their files (expire them): a part of ``network.Network``.

Each action reaches the devices of both phones (or of the actor only, for a delete for itself)
through their outboxes, except the device that did it, which applied it already.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from .errors import SimError
from .media import CAPTION_TYPES
from .messages import Edit, Message, Reaction, new_message_id, now_ms

if TYPE_CHECKING:
    from .network import Device, Phone
    from .media import MediaStore
    from .settings import SimSettings

MAX_EMOJI = 32  # characters: the longest emoji sequences are about ten
MAX_TEXT = 65536


class MessageActions:
    settings: "SimSettings"
    phones: "dict[str, Phone]"
    messages: list[Message]
    media: "MediaStore"

    def find_message(self, phone: str, msg_id: Any, counterpart: str | None = None) -> Message:
        """A message of ``phone`` by its id as either side sees it (``true_<chat>_<ID>``,
        ``false_<chat>_<ID>``) or by its bare ``ID``; ``counterpart`` narrows it to one chat."""
        if not isinstance(msg_id, str) or not msg_id or len(msg_id) > 200:
            raise SimError(422, "msgId must be a message id like true_79990000001@c.us_3EB0...")
        stanza = msg_id.rsplit("_", 1)[-1]
        for msg in reversed(self.messages):
            if (msg.id == stanza and msg.has_party(phone) and phone not in msg.deleted_for
                    and (counterpart is None or msg.counterpart(phone) == counterpart)):
                return msg
        where = f" in its chat with {counterpart}" if counterpart else ""
        raise SimError(404, f"phone {phone} has no message {msg_id}{where}")

    def react(self, phone: str, msg: Message, emoji: Any, *, origin: "Device | None" = None,
              reaction_id: str | None = None) -> None:
        """``phone`` reacts to ``msg`` (its own or the other's): a new emoji replaces its earlier
        one, "" removes it."""
        if not isinstance(emoji, str) or len(emoji) > MAX_EMOJI or (emoji and not emoji.strip()):
            raise SimError(422, f"emoji must be one emoji (at most {MAX_EMOJI} characters), or \"\" to remove the reaction")
        self._party(phone, msg)
        if msg.revoked:
            raise SimError(409, "the message was deleted: nobody can react to it")
        reaction = Reaction(emoji, now_ms(), reaction_id or new_message_id())
        if emoji:
            msg.reactions[phone] = reaction
        else:
            msg.reactions.pop(phone, None)
        self._push_parties(msg, "reaction", lambda side: {
            "row": msg.reaction_row(phone, side, reaction.emoji, reaction.t_ms, reaction.id)}, origin)

    def edit_message(self, phone: str, msg: Message, text: Any, *, origin: "Device | None" = None,
                     edit_id: str | None = None) -> Message:
        """The sender changes a text, or a media message's caption, within ``edit_window``."""
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise SimError(422, "body must be a string")
        self._party(phone, msg)
        if msg.sender != phone:
            raise SimError(403, "only the sender can edit a message")
        if msg.revoked:
            raise SimError(409, "the message was deleted for everyone")
        if time.time() - msg.t > self.settings.edit_window:
            raise SimError(409, f"messages can be edited for {self.settings.edit_window:g} s after sending; this one is older")
        if msg.type == "chat":
            if not text.strip():
                raise SimError(422, "a text message cannot be edited to nothing")
            msg.body = text
        elif msg.type in CAPTION_TYPES:
            msg.caption = text or None
        else:
            raise SimError(409, f"a {msg.type} message cannot be edited")
        msg.edit = Edit(edit_id or new_message_id(), now_ms())
        self._push_parties(msg, "edit", lambda side: {
            "id": msg.serialized(side), "type": msg.type, "body": msg.body if msg.type == "chat" else None,
            "caption": msg.caption, "editKey": msg.key_of(msg.sender, msg.edit.id, side), "editT": msg.edit.t_ms,
        }, origin)
        return msg

    def revoke_message(self, phone: str, msg: Message, *, origin: "Device | None" = None) -> Message:
        """The sender deletes ``msg`` for everyone within ``revoke_window``; a second time is a no-op."""
        self._party(phone, msg)
        if msg.sender != phone:
            raise SimError(403, "only the sender can delete a message for everyone")
        if msg.revoked:
            return msg
        if time.time() - msg.t > self.settings.revoke_window:
            raise SimError(409, f"messages can be deleted for everyone for {self.settings.revoke_window:g} s after sending; this one is older")
        msg.revoked = True
        msg.body, msg.caption, msg.media, msg.location = "", None, None, None
        msg.reactions.clear()
        self._push_parties(msg, "revoke", lambda side: {"id": msg.serialized(side)}, origin)
        return msg

    def delete_for_me(self, phone: str, msg: Message, *, origin: "Device | None" = None) -> None:
        """``phone`` deletes ``msg`` for itself: gone from its devices, kept for the other side."""
        self._party(phone, msg)
        msg.deleted_for.add(phone)
        for device in list(self.phones[phone].devices.values()):
            if device is not origin:
                device.push("delete", {"id": msg.serialized(phone)})

    def expire_media(self, sha256: str) -> int:
        """Every copy of the file is gone; returns how many messages carried it."""
        stored = self.media.expire(sha256)
        return sum(1 for m in self.messages if m.media is not None and m.media.upload.sha256 == stored.sha256)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _party(phone: str, msg: Message) -> None:
        if not msg.has_party(phone):
            raise SimError(403, f"phone {phone} is not in the chat of this message")

    def _push_parties(self, msg: Message, kind: str, data: Callable[[str], dict[str, Any]],
                      origin: "Device | None") -> None:
        for side in msg.parties():
            phone = self.phones.get(side)
            for device in list(phone.devices.values()) if phone else []:
                if device is not origin:
                    device.push(kind, data(side))

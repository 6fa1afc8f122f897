"""How the phones of the simulated network name each other: phone numbers, and ``@lid`` identities.

Every phone has a stable fake LID (15 digits derived from its number, the same in every run). In a
network of the 2026-08 generation a 1:1 chat is *addressed by LID* when the other phone addresses
its contacts that way: a per-phone switch (``POST /__sim/phones/{phone}/lid-addressing {on}``),
which by default is on for phones that are not in the viewer's address book. A chat keeps the
addressing it had when its first message went: later changes apply to new chats only. A number
that is not on WhatsApp has no LID: a message to it (which makes it a phone of the network, as
ever) begins a chat addressed by number.

A phone knows another's number when that one is in its address book, is addressed by number, or
was looked up (``queryWidExists``); otherwise an ``@lid`` contact comes without ``phoneNumber``,
as on the real site, where the mapping is best effort. The 2026-03 network knows no LIDs at all.
A part of ``network.Network``.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from .errors import SimError
from .messages import chat_id

if TYPE_CHECKING:
    from .groups import Group
    from .network import Phone
    from .settings import SimSettings


def lid_of(number: str) -> str:
    """A phone's LID: 15 digits derived from its number, stable across runs and resets."""
    digest = hashlib.sha256(f"fakewa-lid:{number}".encode()).digest()
    return str(10**14 + int.from_bytes(digest[:8], "big") % (9 * 10**14))


def lid_wid(number: str) -> str:
    return f"{lid_of(number)}@lid"


def normalize_phone(value: Any, what: str = "phone") -> str:
    """``79991234567``, ``+79991234567`` and ``79991234567@c.us`` all name the same phone."""
    text = str(value if value is not None else "").strip()
    if text.startswith("+"):
        text = text[1:]
    if text.endswith("@c.us"):
        text = text[: -len("@c.us")]
    if not (text.isdigit() and 5 <= len(text) <= 15):
        raise SimError(422, f"{what} must be a phone number of 5 to 15 digits (like 79991234567), got {value!r}")
    return text


class Addressing:
    settings: "SimSettings"
    phones: "dict[str, Phone]"
    groups: "dict[str, Group]"
    lid_index: dict[str, str]  # lid digits -> phone
    _addressing: dict[tuple[str, str], bool]  # (viewer, other) -> fixed when their chat began

    # -- ids ---------------------------------------------------------------------------------------
    def number_of(self, value: Any, what: str = "phone") -> str:
        """The phone a value names: digits, ``+digits``, ``<digits>@c.us`` or a known ``<lid>@lid``."""
        text = str(value if value is not None else "").strip()
        if text.endswith("@lid"):
            number = self.lid_index.get(text[: -len("@lid")])
            if number is None:
                raise SimError(404, f"{what}: no phone of the network has the LID {text}")
            return number
        return normalize_phone(value, what)

    def lid_addressed(self, viewer: str, other: str) -> bool:
        """Whether ``viewer``'s 1:1 chat with ``other`` is addressed by LID."""
        if not self.settings.lids:
            return False
        fixed = self._addressing.get((viewer, other))
        if fixed is not None:
            return fixed
        phone = self.phones.get(other)
        if phone is None:  # not on WhatsApp (yet): only its number is known
            return False
        if phone.lid_addressing is not None:
            return phone.lid_addressing
        mine = self.phones.get(viewer)
        return not (mine is not None and other in mine.contacts)

    def fix_addressing(self, a: str, b: str) -> None:
        """Their chat began: it keeps its ids from now on, on both sides."""
        for viewer, other in ((a, b), (b, a)):
            self._addressing.setdefault((viewer, other), self.lid_addressed(viewer, other))

    def chat_wid(self, viewer: str, other: str) -> str:
        return lid_wid(other) if self.lid_addressed(viewer, other) else chat_id(other)

    def own_wid(self, viewer: str, other: str) -> str:
        return lid_wid(viewer) if self.lid_addressed(viewer, other) else chat_id(viewer)

    def member_wid(self, group_id: str, phone: str) -> str:
        group = self.groups.get(group_id)
        return lid_wid(phone) if group is not None and group.lid_mode else chat_id(phone)

    def group_members(self, group_id: str) -> list[str]:
        group = self.groups.get(group_id)
        return list(group.members) if group is not None else []

    def knows_number(self, viewer: str, other: str) -> bool:
        """Whether ``viewer`` knows ``other``'s phone number (and so the mapping of its LID)."""
        mine = self.phones.get(viewer)
        if viewer == other or not self.lid_addressed(viewer, other):
            return True
        return mine is not None and (other in mine.contacts or other in mine.looked_up)

    # -- what a page learns ----------------------------------------------------------------------
    def contact_info(self, viewer: str, other: str) -> dict[str, Any]:
        """A Contact model of ``viewer``'s pages: ``id`` as the chat with ``other`` is addressed,
        ``phoneNumber`` for an ``@lid`` contact whose number is known, ``lid`` for a contact known
        by number (2026-08)."""
        phone = self.phones.get(other)
        mine = self.phones.get(viewer)
        by_lid = self.lid_addressed(viewer, other)
        info: dict[str, Any] = {
            "id": lid_wid(other) if by_lid else chat_id(other),
            "pushname": phone.pushname if phone else None,
            "name": mine.contacts.get(other) if mine else None,
            "isMyContact": bool(mine and other in mine.contacts),
            "isBusiness": bool(phone and phone.business),
        }
        if self.settings.lids:
            if not by_lid:
                info["lid"] = lid_wid(other)
            elif self.knows_number(viewer, other):
                info["phoneNumber"] = chat_id(other)
        return info

    def lid_pair(self, viewer: str, other: str) -> dict[str, str] | None:
        """``{lid, pn}`` of ``other`` when ``viewer`` may know it (2026-08)."""
        if not self.settings.lids or not self.knows_number(viewer, other):
            return None
        return {"lid": lid_wid(other), "pn": chat_id(other)}

"""Groups of the simulated network: created by a page (``WAWebGroupCreateJob``) or by the control
API, their members added and removed with WhatsApp's per-participant codes, and their messages.

A group in LID addressing mode (``isLidAddressingMode``, the 2026-08 default) names its members by
``@lid``; a page learns the phone numbers of those it knows (its contacts, those it looked up).
Codes, as WhatsApp answers them: 200 added/removed, 403 the participant's privacy allows only its
contacts to add it (or the actor is not an admin), 404 not on WhatsApp (or not a member, for a
removal), 409 already a member. A part of ``network.Network``.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .addressing import lid_wid
from .errors import SimError
from .messages import Message, chat_id, new_message_id

if TYPE_CHECKING:
    from .network import Device, Phone
    from .settings import SimSettings

SUPERADMIN, ADMIN, MEMBER = "superadmin", "admin", "member"
MAX_SUBJECT = 100
MAX_MEMBERS = 1024
RESULT_MESSAGES = {
    200: "ok",
    403: "not allowed: the participant's privacy settings, or you are not an admin",
    404: "not on WhatsApp",
    409: "already a member of the group",
}


@dataclass(eq=False)
class Group:
    id: str
    name: str
    owner: str
    creation: int
    lid_mode: bool
    members: dict[str, str] = field(default_factory=dict)  # phone -> superadmin | admin | member
    description: str | None = None

    def is_admin(self, phone: str) -> bool:
        return self.members.get(phone) in (SUPERADMIN, ADMIN)


def new_group_id() -> str:
    """A group id as WhatsApp makes them now: 120363 and twelve more digits."""
    return f"120363{secrets.randbelow(10**12):012d}@g.us"


class GroupActions:
    settings: "SimSettings"
    phones: "dict[str, Phone]"
    groups: dict[str, Group]
    messages: list[Message]
    _by_key: dict[tuple[str, str], Message]

    # provided by the rest of the network
    phone: Callable[..., "Phone"]
    number_of: Callable[..., str]
    member_wid: Callable[[str, str], str]
    knows_number: Callable[[str, str], bool]
    later: Callable[..., Any]
    _set_ack: Callable[[Message, int], None]

    def group(self, group_id: Any) -> Group:
        group = self.groups.get(str(group_id or ""))
        if group is None:
            raise SimError(404, f"no group {group_id!r} in the network")
        return group

    def create_group(self, owner: str, name: Any, participants: list[Any], lid_mode: bool | None = None, *,
                     privacy: bool = True) -> tuple[Group, list[tuple[Any, int]]]:
        """``owner`` creates a group and adds ``participants`` (numbers or ids as the owner's
        page names them); each gets a code. With ``privacy`` false (the control API) everyone
        known to the network is added."""
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_SUBJECT:
            raise SimError(422, f"a group needs a name of 1 to {MAX_SUBJECT} characters")
        if not isinstance(participants, list) or len(participants) > MAX_MEMBERS:
            raise SimError(422, "participants must be a list of phone numbers")
        if lid_mode and not self.settings.lids:
            raise SimError(409, "the 2026-03 network knows no LIDs: a group cannot be in LID addressing mode")
        self.phone(owner, create=True)
        group = Group(new_group_id(), name.strip(), owner, int(time.time()),
                      self.settings.lids if lid_mode is None else bool(lid_mode), {owner: SUPERADMIN})
        self.groups[group.id] = group
        results = [(p, self._add(group, owner, p, privacy)) for p in participants]
        self.push_group(group)
        return group, results

    def modify_participants(self, actor: str, group: Group, action: Any, participants: Any) -> list[tuple[Any, int]]:
        """``actor`` adds or removes members; a code for each."""
        if action not in ("add", "remove"):
            raise SimError(422, "action must be add or remove")
        if not isinstance(participants, list) or not participants:
            raise SimError(422, "participants must be a non-empty list")
        if not group.is_admin(actor):
            return [(p, 403) for p in participants]
        before = set(group.members)
        results = [(p, self._add(group, actor, p, True) if action == "add" else self._remove(group, p))
                   for p in participants]
        self.push_group(group, extra=before - set(group.members))
        return results

    def _resolve(self, value: Any) -> str | None:
        try:
            number = self.number_of(value, "participant")
        except SimError:
            return None
        return number if number in self.phones else None

    def _add(self, group: Group, actor: str, value: Any, privacy: bool) -> int:
        number = self._resolve(value)
        if number is None:
            return 404
        if number in group.members:
            return 409
        other = self.phones[number]
        if privacy and other.group_add == "contacts" and actor not in other.contacts:
            return 403
        group.members[number] = MEMBER
        return 200

    def _remove(self, group: Group, value: Any) -> int:
        number = self._resolve(value)
        if number is None or number not in group.members:
            return 404
        if group.members[number] == SUPERADMIN:
            return 403
        del group.members[number]
        return 200

    # -- what a page learns ----------------------------------------------------------------------
    def group_info(self, group: Group, viewer: str) -> dict[str, Any]:
        """The group's metadata on ``viewer``'s pages (``GroupMetadata``)."""
        lids = []
        if group.lid_mode:
            lids = [{"lid": lid_wid(p), "pn": chat_id(p)} for p in group.members if self.knows_number(viewer, p)]
        return {
            "id": group.id, "subject": group.name, "desc": group.description,
            "owner": self.member_wid(group.id, group.owner), "creation": group.creation,
            "isLidAddressingMode": group.lid_mode,
            "participants": [
                {"id": self.member_wid(group.id, p), "isAdmin": role in (SUPERADMIN, ADMIN), "isSuperAdmin": role == SUPERADMIN}
                for p, role in group.members.items()
            ],
            "lids": lids,
        }

    def group_row(self, group: Group, viewer: str) -> dict[str, Any]:
        phone = self.phones[viewer]
        return {
            "id": group.id, "name": group.name, "formattedTitle": group.name, "isGroup": True,
            "unreadCount": phone.unread.get(group.id, 0), "t": phone.last.get(group.id, group.creation),
        }

    def push_group(self, group: Group, extra: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Every member's devices (and those of members just removed) learn the group as it is."""
        for number in [*group.members, *extra]:
            phone = self.phones.get(number)
            for device in list(phone.devices.values()) if phone else []:
                device.push("group", {"group": self.group_info(group, number), "chat": self.group_row(group, number)})

    def listing_of(self, group: Group) -> dict[str, Any]:
        """``GET /__sim/groups/{id}``."""
        return {
            "id": group.id, "name": group.name, "owner": chat_id(group.owner), "lidMode": group.lid_mode,
            "participants": [{"phone": chat_id(p), "lid": lid_wid(p), "role": role} for p, role in group.members.items()],
            "messages": [m.listing(m.sender) for m in self.messages if m.group == group.id],
        }

    # -- messages ------------------------------------------------------------------------------
    def send_group_message(self, sender: str, group: Group, body: str, *, msg_id: str | None = None,
                           t: int | None = None, origin: "Device | None" = None, **content: Any) -> Message:
        """A member writes in the group: its other devices show it at once, the other members get
        it after one ack delay; ack 2 once delivered."""
        if sender not in group.members:
            raise SimError(403, f"{sender} is not a member of the group")
        if msg_id and (sender, msg_id) in self._by_key:
            return self._by_key[(sender, msg_id)]
        quoted = content.get("quoted")
        msg = Message(msg_id or new_message_id(), sender, group.id, body, int(t or time.time()), group=group.id,
                      net=self, type=content.pop("kind", "chat"), caption=content.get("caption") or None,
                      media=content.get("media"), location=content.get("location"), quoted=quoted,
                      quoted_snapshot=quoted.snapshot() if quoted is not None else None)
        self.messages.append(msg)
        self._by_key[(sender, msg.id)] = msg
        for number in group.members:
            self.phones[number].last[group.id] = msg.t
        for device in list(self.phones[sender].devices.values()):
            if device is not origin:
                device.push("msg", self.group_msg_event(msg, group, sender))
        self.later(self.settings.ack_delay, self._set_ack, msg, 1)
        self.later(2 * self.settings.ack_delay, self._deliver_group, msg, group)
        return msg

    def _deliver_group(self, msg: Message, group: Group) -> None:
        for number in list(group.members):
            if number == msg.sender:
                continue
            phone = self.phones[number]
            phone.unread[group.id] = phone.unread.get(group.id, 0) + 1
            for device in list(phone.devices.values()):
                device.push("msg", self.group_msg_event(msg, group, number))
        self._set_ack(msg, 2)

    def group_msg_event(self, msg: Message, group: Group, side: str) -> dict[str, Any]:
        return {"msg": msg.view(side), "chat": self.group_row(group, side), "reactions": [],
                "group": self.group_info(group, side)}

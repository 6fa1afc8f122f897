"""The simulated WhatsApp network: phones by number, the web devices linked to them, messages.

A phone stands for a handset and is always reachable, so a message to it is delivered (ack 2)
whether or not a web device of it is open. A linked device is online only while its page holds a
websocket. Everything a device must learn goes through its outbox, which keeps each event until the
page confirms it, so a device that is offline or reconnecting loses nothing.

Addressing (phone numbers and LIDs) is ``addressing.py``, groups ``groups.py``, pairing codes, the
reach-out timelock and profile pictures ``accounts.py``, actions on sent messages
``message_actions.py``.
"""
from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from .accounts import AccountActions, PairCode, Picture
from .addressing import Addressing, lid_of, normalize_phone
from .errors import SimError
from .groups import Group, GroupActions
from .media import MediaStore
from .message_actions import MessageActions
from .messages import MediaRef, Message, chat_id, new_message_id
from .settings import SimSettings

__all__ = ["Network", "Phone", "Device", "SimError", "normalize_phone", "chat_id", "WA_STATES", "FORCEABLE_STATES"]

WA_STATES = (
    "OPENING", "PAIRING", "UNPAIRED", "UNPAIRED_IDLE", "CONNECTED", "TIMEOUT", "CONFLICT",
    "UNLAUNCHED", "PROXYBLOCK", "TOS_BLOCK", "SMB_TOS_BLOCK", "DEPRECATED_VERSION",
)
# What the network can impose on a phone's open devices. CONNECTED lifts a ban.
FORCEABLE_STATES = (
    "CONFLICT", "TIMEOUT", "TOS_BLOCK", "SMB_TOS_BLOCK", "PROXYBLOCK", "DEPRECATED_VERSION",
    "UNLAUNCHED", "CONNECTED",
)
# Bans outlive the page: a device of a banned phone that reconnects is told again.
BANS = ("TOS_BLOCK", "SMB_TOS_BLOCK")


class DeviceLink(Protocol):
    """The server's side of the page a device is open in (``session.PageSession``)."""

    def send(self, message: dict[str, Any]) -> None: ...

    def force_state(self, state: str) -> None: ...

    def logged_out(self, reason: str) -> None: ...


@dataclass(eq=False)
class Device:
    id: str
    phone: str
    secret: str
    linked_at: float
    link: DeviceLink | None = None
    ready: bool = False  # synced: events go out as they are pushed
    outbox: deque[dict[str, Any]] = field(default_factory=deque)
    next_seq: int = 1

    def credential(self) -> dict[str, str]:
        return {"deviceId": self.id, "secret": self.secret}

    def push(self, kind: str, data: dict[str, Any]) -> None:
        event = {"type": "event", "seq": self.next_seq, "kind": kind, "data": data}
        self.next_seq += 1
        self.outbox.append(event)
        if self.link is not None and self.ready:
            self.link.send(event)

    def confirm(self, seq: int) -> None:
        """The page applied every event up to ``seq``: forget them."""
        while self.outbox and self.outbox[0]["seq"] <= seq:
            self.outbox.popleft()

    def pending_message_ids(self) -> set[str]:
        return {e["data"]["msg"]["id"]["_serialized"] for e in self.outbox if e["kind"] == "msg"}


@dataclass(eq=False)
class Phone:
    number: str
    pushname: str | None = None
    devices: dict[str, Device] = field(default_factory=dict)
    unread: dict[str, int] = field(default_factory=dict)  # counterpart (or group id) -> unread count
    last: dict[str, int] = field(default_factory=dict)  # counterpart (or group id) -> time of the last message
    ban: str | None = None
    device_counter: int = 0
    business: bool = False
    contacts: dict[str, str | None] = field(default_factory=dict)  # its address book: number -> saved name
    looked_up: set[str] = field(default_factory=set)  # numbers its devices looked up (queryWidExists)
    lid_addressing: bool | None = None  # None: by LID for whoever does not have it in their address book (2026-08)
    group_add: str = "everyone"  # who may add it to groups: everyone, or only its contacts
    picture: Picture | None = None
    timelock_until: float | None = None  # the reach-out timelock: first messages to new contacts refused

    @property
    def lid(self) -> str:
        return lid_of(self.number)

    def timelocked(self) -> bool:
        return self.timelock_until is not None and time.time() < self.timelock_until


class Network(MessageActions, Addressing, GroupActions, AccountActions):
    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.phones: dict[str, Phone] = {}
        self.devices: dict[str, Device] = {}
        self.messages: list[Message] = []
        self.groups: dict[str, Group] = {}
        self.lid_index: dict[str, str] = {}
        self.pair_codes: dict[str, PairCode] = {}
        self.pictures: dict[str, Phone] = {}  # picture token -> its phone
        self.media = MediaStore()  # the CDN
        self._by_key: dict[tuple[str, str], Message] = {}
        self._addressing: dict[tuple[str, str], bool] = {}
        self.sessions: set[Any] = set()  # open PageSessions, paired or not
        self._timers: set[asyncio.TimerHandle] = set()

    # -- timers -------------------------------------------------------------------------------
    def later(self, delay: float, callback: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
        """Run ``callback`` after ``delay`` seconds unless ``reset()`` comes first."""
        box: list[asyncio.TimerHandle] = []

        def run() -> None:
            self._timers.discard(box[0])
            callback(*args)

        handle = asyncio.get_running_loop().call_later(max(delay, 0.0), run)
        box.append(handle)
        self._timers.add(handle)
        return handle

    def cancel(self, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            handle.cancel()
            self._timers.discard(handle)

    def reset(self) -> None:
        """Forget everything: close every page's connection, cancel every pending delay."""
        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()
        for session in list(self.sessions):
            session.close(4000, "simulator reset")
        self.sessions.clear()
        self.phones.clear()
        self.devices.clear()
        self.messages.clear()
        self.groups.clear()
        self.lid_index.clear()
        self.pair_codes.clear()
        self.pictures.clear()
        self._by_key.clear()
        self._addressing.clear()
        self.media.reset()

    # -- phones and devices ------------------------------------------------------------------
    def phone(self, number: str, create: bool = False) -> Phone:
        phone = self.phones.get(number)
        if phone is None:
            if not create:
                raise SimError(404, f"phone {number} is not in the network: "
                                    "scan a QR with it or send it a message first")
            phone = self.phones[number] = Phone(number)
            self.lid_index[phone.lid] = number
        return phone

    def link_device(self, number: str, pushname: str | None) -> Device:
        phone = self.phone(number, create=True)
        if pushname:
            phone.pushname = pushname
        phone.device_counter += 1
        device = Device(f"{number}:{phone.device_counter}", number, secrets.token_urlsafe(24), time.time())
        phone.devices[device.id] = device
        self.devices[device.id] = device
        return device

    def unlink(self, device: Device, reason: str | None) -> None:
        """Revoke a device; its page, if open, is told why (``None``: tell nobody)."""
        self.phones[device.phone].devices.pop(device.id, None)
        self.devices.pop(device.id, None)
        device.outbox.clear()
        link, device.link, device.ready = device.link, None, False
        if link is not None and reason is not None:
            link.logged_out(reason)

    def authenticate(self, credential: Any) -> Device | None:
        if not isinstance(credential, dict):
            return None
        device = self.devices.get(str(credential.get("deviceId")))
        secret = str(credential.get("secret", ""))
        if device is None or not hmac.compare_digest(device.secret.encode(), secret.encode()):
            return None
        return device

    def attach(self, device: Device, link: DeviceLink) -> None:
        """A page opened with this device's credential; the page it was open in gets CONFLICT."""
        previous = device.link
        device.link, device.ready = link, False
        if previous is not None and previous is not link:
            previous.force_state("CONFLICT")

    def detach(self, device: Device, link: DeviceLink) -> None:
        if device.link is link:
            device.link, device.ready = None, False

    def sync(self, device: Device) -> None:
        """Send the device its chats, then everything waiting in its outbox, in order."""
        if device.link is None:
            return
        device.link.send({"type": "sync", **self.snapshot(device)})
        device.ready = True
        for event in list(device.outbox):
            device.link.send(event)

    def snapshot(self, device: Device) -> dict[str, Any]:
        """A device's history: its chats with their last messages, and the reactions to those; its
        contacts, groups and the LID mappings it knows; the reach-out timelock. Messages still in
        its outbox are left out: they arrive as new. Messages the phone deleted for itself are gone."""
        number = device.phone
        phone = self.phones[number]
        pending = device.pending_message_ids()
        by_chat: dict[str, list[Message]] = {}
        for msg in self.messages:
            arrived = number == msg.sender or msg.ack >= 2  # still on its way: it comes as an event
            if msg.has_party(number) and number not in msg.deleted_for and arrived:
                by_chat.setdefault(msg.counterpart(number), []).append(msg)
        chats = []
        reactions = []
        for counterpart, msgs in by_chat.items():
            group = self.groups.get(counterpart)
            shown = [m for m in msgs[-self.settings.sync_messages:] if m.serialized(number) not in pending]
            if shown and (group is None or number in group.members):
                row = self.group_row(group, number) if group else self.chat_info(number, counterpart)
                chats.append({**row, "msgs": [m.view(number) for m in shown]})
            for m in shown:
                reactions += [m.reaction_row(p, number, r.emoji, r.t_ms, r.id) for p, r in m.reactions.items()]
        groups = [g for g in self.groups.values() if number in g.members]
        for group in groups:
            if group.id not in by_chat:
                chats.append({**self.group_row(group, number), "msgs": []})
        chats.sort(key=lambda c: c["t"], reverse=True)
        people = [c for c in by_chat if c not in self.groups]
        people += [c for c in [*phone.contacts, *phone.looked_up] if c not in people and c in self.phones and c != number]
        return {"me": chat_id(number), "pushname": phone.pushname, "chats": chats,
                "contacts": [self.contact_info(number, c) for c in people],
                "groups": [self.group_info(g, number) for g in groups],
                "timelock": self.timelock_state(number), "reactions": reactions}

    def chat_info(self, number: str, counterpart: str) -> dict[str, Any]:
        other = self.phones.get(counterpart)
        phone = self.phones[number]
        name = phone.contacts.get(counterpart) or (other.pushname if other else None)
        return {
            "id": self.chat_wid(number, counterpart),
            "name": name,
            "formattedTitle": name or f"+{counterpart}",
            "isGroup": False,
            "unreadCount": phone.unread.get(counterpart, 0),
            "t": phone.last.get(counterpart, 0),
        }

    def push_contact(self, number: str, other: str) -> None:
        """``number``'s devices learn how they know ``other`` now."""
        phone = self.phones.get(number)
        for device in list(phone.devices.values()) if phone else []:
            device.push("contact", {"contact": self.contact_info(number, other)})

    # -- messages -----------------------------------------------------------------------------
    def send_message(
        self, sender: str, recipient: str, body: str, *,
        kind: str = "chat", caption: str | None = None, media: MediaRef | None = None,
        location: dict[str, Any] | None = None, quoted: Message | None = None,
        msg_id: str | None = None, t: int | None = None, origin: Device | None = None,
    ) -> Message:
        """``sender`` sends a message (a text ``body``, or ``media`` with a ``caption``, or a
        ``location``; ``quoted`` the message it replies to): ack 1 after one ack delay,
        delivered (ack 2) after two.

        Sending again with the same ``msg_id`` (a page resending after a reconnect) is a no-op.
        """
        if msg_id and (sender, msg_id) in self._by_key:
            return self._by_key[(sender, msg_id)]
        sender_phone = self.phone(sender, create=True)
        if sender_phone.timelocked() and self.is_new_contact(sender, recipient):
            raise SimError(463, f"{sender} is under a reach-out timelock until {int(sender_phone.timelock_until or 0)}: "
                                "WhatsApp refuses its first messages to new contacts")
        self.fix_addressing(sender, recipient)  # before the recipient joins: a new number is reached by number
        recipient_phone = self.phone(recipient, create=True)
        msg = Message(msg_id or new_message_id(), sender, recipient, body, int(t or time.time()), type=kind,
                      caption=caption or None, media=media, location=location, quoted=quoted,
                      quoted_snapshot=quoted.snapshot() if quoted is not None else None, net=self)
        sender_phone.last[recipient] = recipient_phone.last[sender] = msg.t
        self.messages.append(msg)
        self._by_key[(sender, msg.id)] = msg
        for device in list(sender_phone.devices.values()):
            if device is not origin:  # the sender's other devices show it too
                device.push("msg", self.msg_event(msg, sender))
        delay = self.settings.ack_delay
        self.later(delay, self._set_ack, msg, 1)
        self.later(2 * delay, self._deliver, msg)
        return msg

    def _deliver(self, msg: Message) -> None:
        if msg.recipient != msg.sender:
            phone = self.phones[msg.recipient]
            phone.unread[msg.sender] = phone.unread.get(msg.sender, 0) + 1
            event = self.msg_event(msg, msg.recipient)
            for device in list(phone.devices.values()):
                device.push("msg", event)
        self._set_ack(msg, 2)

    def msg_event(self, msg: Message, side: str) -> dict[str, Any]:
        """A message for ``side``'s devices, with its chat row, the contact it is with, and the
        reactions it has by now."""
        return {
            "msg": msg.view(side), "chat": self.chat_info(side, msg.counterpart(side)),
            "contact": self.contact_info(side, msg.counterpart(side)),
            "reactions": [msg.reaction_row(p, side, r.emoji, r.t_ms, r.id) for p, r in msg.reactions.items()],
        }

    def is_new_contact(self, a: str, b: str) -> bool:
        """No message ever went between these two phones."""
        return not any(m.group is None and {m.sender, m.recipient} == {a, b} for m in self.messages)

    def _set_ack(self, msg: Message, ack: int) -> None:
        """Acks only rise; the sender's devices hear of each step."""
        if ack <= msg.ack:
            return
        msg.ack = ack
        phone = self.phones.get(msg.sender)
        for device in list(phone.devices.values()) if phone else []:
            device.push("ack", {"id": msg.serialized(msg.sender), "ack": ack})

    def read(self, reader: str, counterpart: str) -> int:
        """``reader`` opens the chat with ``counterpart``: delivered messages from it become read."""
        phone = self.phone(reader)
        count = 0
        for msg in self.messages:
            if msg.group is None and msg.sender == counterpart and msg.recipient == reader and msg.ack == 2:
                self._set_ack(msg, 3)
                count += 1
        phone.unread[counterpart] = 0
        for device in list(phone.devices.values()):
            device.push("chat", {"id": self.chat_wid(reader, counterpart), "unreadCount": 0})
        return count

    def messages_of(self, number: str) -> list[dict[str, Any]]:
        """What the phone shows: every message it sent or received, less those it deleted for itself."""
        self.phone(number)
        return [m.listing(number) for m in self.messages
                if m.has_party(number) and number not in m.deleted_for]

    # -- what a phone can do to its devices ---------------------------------------------------
    def scan(self, qr: Any, number: str, pushname: str | None) -> Device:
        """The phone scans a QR payload; only the payload a page shows right now links."""
        if not isinstance(qr, str) or not qr:
            raise SimError(422, "qr must be the QR payload string: ref,staticKey,identityKey,advSecret,platform")
        for session in list(self.sessions):
            if session.current_qr() == qr:
                return session.begin_pairing(number, pushname)
        raise SimError(404, "no page shows this QR payload now (expired, already scanned, or never issued): "
                            "read the page's current Conn.ref and scan again")

    def logout(self, number: str) -> int:
        phone = self.phone(number)
        devices = list(phone.devices.values())
        for device in devices:
            self.unlink(device, "remote")
        return len(devices)

    def force_state(self, number: str, state: Any) -> int:
        phone = self.phone(number)
        if state not in WA_STATES:
            raise SimError(422, f"unknown state {state!r}: one of {', '.join(FORCEABLE_STATES)}")
        if state not in FORCEABLE_STATES:
            raise SimError(422, f"{state} is not imposed by the network: force one of {', '.join(FORCEABLE_STATES)}")
        if state == "CONNECTED":
            phone.ban = None
            return 0
        if state in BANS:
            phone.ban = state
        affected = 0
        for device in list(phone.devices.values()):
            link = device.link
            if link is not None:
                self.detach(device, link)
                link.force_state(state)
                affected += 1
        return affected

    def describe_devices(self) -> list[dict[str, Any]]:
        return [
            {
                "id": d.id,
                "phone": d.phone,
                "pushname": self.phones[d.phone].pushname,
                "online": d.link is not None,
                "synced": d.ready,
                "pending": len(d.outbox),
                "lid": f"{self.phones[d.phone].lid}@lid" if self.settings.lids else None,
                "linkedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(d.linked_at)),
            }
            for d in self.devices.values()
        ]

"""The control API's calls about people and groups (the rest is in app.py): phones, their address
books and LIDs, linking by pairing code, groups, the reach-out timelock, profile pictures.

- ``POST /__sim/phones {phone, pushname?, business?}``: a phone joins WhatsApp (scans and messages
  create phones too).
- ``GET /__sim/phones/{phone}``: ``{number, lid, pushname, devices [{id, online, synced}], contacts,
  lidAddressing, timelock {active, until}}``.
- ``POST /__sim/pair {phone, code, pushname?}``: the phone types in the pairing code a page shows:
  that page is linked as by a scan (404 for a wrong or expired code, or another phone's).
- ``POST /__sim/phones/{phone}/lid-addressing {on}``: whether this phone is addressed by LID in
  others' chats (``null``: the default, by LID for those who do not have it in their address
  book); 409 on the 2026-03 network. Chats that have messages keep their ids.
- ``POST /__sim/phones/{phone}/contacts {contacts: [phone | {phone, name}], groupAdd?}``: the
  phone's address book (replaced); ``groupAdd`` ``everyone`` or ``contacts`` (who may add it to
  groups; others get 403).
- ``POST /__sim/groups {owner, name, participants: [phone...], lidMode?}`` → ``{id}``.
- ``POST /__sim/groups/{id}/messages {from, body}``: a member writes in the group.
- ``GET /__sim/groups/{id}``: ``{id, name, owner, lidMode, participants [{phone, lid, role}], messages}``.
- ``POST /__sim/phones/{phone}/timelock {seconds}``: the network refuses the phone's first messages
  to new contacts (error 463) for that long; 0 lifts it.
- ``POST /__sim/phones/{phone}/picture {mimetype, data}``: the phone's profile picture, which the
  CDN serves at ``/pps/...`` (the path ``requestProfilePicFromServer`` gives a page).
"""
from __future__ import annotations

from typing import Any

from .addressing import lid_wid
from .app_base import ControlHandler, text_arg
from .errors import SimError
from .media import decode_b64
from .messages import chat_id
from .network import normalize_phone

MAX_PICTURE = 5 * 1024 * 1024


class PhonesHandler(ControlHandler):
    def get(self) -> None:
        phones = [
            {
                "phone": phone.number,
                "pushname": phone.pushname,
                "devices": len(phone.devices),
                "online": sum(1 for d in phone.devices.values() if d.link is not None),
            }
            for phone in self.network.phones.values()
        ]
        self.reply({"phones": phones})

    def post(self) -> None:
        data = self.body()
        phone = self.network.phone(normalize_phone(data.get("phone")), create=True)
        pushname = text_arg(data, "pushname", required=False)
        if pushname:
            phone.pushname = pushname
        if data.get("business") is not None:
            if not isinstance(data["business"], bool):
                raise SimError(422, "business must be true or false")
            phone.business = data["business"]
        self.reply(self.describe(phone.number))

    def describe(self, number: str) -> dict[str, Any]:
        phone = self.network.phone(number)
        return {
            "number": number, "lid": lid_wid(number), "pushname": phone.pushname, "business": phone.business,
            "devices": [{"id": d.id, "online": d.link is not None, "synced": d.ready} for d in phone.devices.values()],
            "contacts": [chat_id(c) for c in phone.contacts], "lidAddressing": phone.lid_addressing,
            "timelock": self.network.timelock_state(number),
        }


class PhoneHandler(PhonesHandler):
    def get(self, phone: str) -> None:  # type: ignore[override]
        self.reply(self.describe(self.phone_arg(phone)))


class PairHandler(ControlHandler):
    def post(self) -> None:
        data = self.body()
        number = normalize_phone(data.get("phone"))
        code = data.get("code")
        if not isinstance(code, str) or not code:
            raise SimError(422, "code is required: the 8 characters the page shows (a dash may separate them)")
        device = self.network.pair(number, code, text_arg(data, "pushname", required=False))
        self.reply({"phone": number, "device": device.id})


class LidAddressingHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        on = self.body().get("on")
        if on is not None and not isinstance(on, bool):
            raise SimError(422, "on must be true, false or null (the default)")
        if not self.network.settings.lids:
            raise SimError(409, "the 2026-03 network knows no LIDs: start the simulator with --generation 2026-08")
        self.network.phones[number].lid_addressing = on
        self.reply({"phone": number, "lidAddressing": on})


class ContactsHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        data = self.body()
        entries = data.get("contacts")
        if not isinstance(entries, list):
            raise SimError(422, "contacts must be a list of phone numbers (or {phone, name})")
        book: dict[str, str | None] = {}
        for entry in entries:
            if isinstance(entry, dict):
                book[normalize_phone(entry.get("phone"), "contacts[].phone")] = text_arg(entry, "name", required=False)
            else:
                book[normalize_phone(entry, "contacts[]")] = None
        group_add = data.get("groupAdd")
        if group_add not in (None, "everyone", "contacts"):
            raise SimError(422, "groupAdd must be everyone or contacts")
        owner = self.network.phones[number]
        changed = set(book) ^ set(owner.contacts) | {c for c in book if book[c] != owner.contacts.get(c)}
        owner.contacts = book
        if group_add is not None:
            owner.group_add = group_add
        for other in changed:
            if other in self.network.phones and other != number:
                self.network.push_contact(number, other)
        self.reply({"phone": number, "contacts": [chat_id(c) for c in book], "groupAdd": owner.group_add})


class GroupsHandler(ControlHandler):
    def post(self) -> None:
        data = self.body()
        owner = normalize_phone(data.get("owner"), "owner")
        participants = data.get("participants")
        if not isinstance(participants, list):
            raise SimError(422, "participants must be a list of phone numbers")
        numbers = [normalize_phone(p, "participants[]") for p in participants]
        for number in numbers:
            self.network.phone(number, create=True)  # a phone is always reachable
        lid_mode = data.get("lidMode")
        if lid_mode is not None and not isinstance(lid_mode, bool):
            raise SimError(422, "lidMode must be true or false")
        group, _ = self.network.create_group(owner, data.get("name"), numbers, lid_mode, privacy=False)
        self.reply({"id": group.id})


class GroupHandler(ControlHandler):
    def get(self, group_id: str) -> None:
        self.reply(self.network.listing_of(self.network.group(group_id)))


class GroupMessagesHandler(ControlHandler):
    def post(self, group_id: str) -> None:
        group = self.network.group(group_id)
        data = self.body()
        sender = normalize_phone(data.get("from"), "from")
        body = data.get("body")
        if not isinstance(body, str) or not body:
            raise SimError(422, "body is required and must be a string")
        msg = self.network.send_group_message(sender, group, body)
        self.reply({"message": msg.listing(sender)})


class TimelockHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        self.reply({"phone": number, "timelock": self.network.impose_timelock(number, self.body().get("seconds"))})


class PictureHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        data = self.body()
        mimetype = data.get("mimetype")
        if mimetype not in ("image/jpeg", "image/png"):
            raise SimError(422, "mimetype must be image/jpeg or image/png")
        raw = decode_b64(data.get("data"), "data")
        if not raw or len(raw) > MAX_PICTURE:
            raise SimError(413 if raw else 422, f"a picture has 1 to {MAX_PICTURE} bytes")
        self.network.set_picture(number, raw, mimetype)
        self.reply({"phone": number, "picture": True})


class PictureCdnHandler(ControlHandler):
    """``GET /pps/...``: where a page's ``requestProfilePicFromServer`` sends it (pps.whatsapp.net)."""

    def get(self, token: str) -> None:
        phone = self.network.pictures.get(token)
        if phone is None or phone.picture is None:
            raise SimError(404, "no such picture (changed or never set)")
        self.set_header("Content-Type", phone.picture.mimetype)
        self.set_header("Cache-Control", "no-store")
        self.finish(phone.picture.data)

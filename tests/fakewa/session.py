"""The server's half of one page's websocket, the way WhatsApp's servers talk to the web client.

Protocol (JSON text frames). The page says:
  hello {cred | null, keys {static, identity, adv}, platform}   first frame after connecting
  login {cred}              after storing the credential it was given at pairing
  refresh_qr                Cmd.refreshQR()
  alt_link {rid, phone, code}   unpaired: offer a pairing code for that phone (startAltLinkingFlow)
  send {id, to, from?, t, kind, body, caption?, media?, location?, quoted?}
                            a message from this device (resent until acked: ids make it idempotent).
                            to: <phone>@c.us or <lid>@lid (as the chat is addressed) or <group>@g.us;
                            from: the device's own id in that chat (its LID in a chat by LID).
                            kind: chat (body) | image, video, audio, ptt, document, sticker (media
                            {directPath, filehash, mediaKey, mimetype, size, filename?, duration?,
                            width?, height?, thumbnail?} of a file uploaded to /mms/) | location
                            (location {lat, lng, loc}); quoted {id, participant}: the message replied to
  react {rid, id, emoji, reactionId}   react to message id ("" removes the reaction)
  edit {rid, id, body, editId}         edit an own message (its text, or a media message's caption)
  revoke {rid, id}          delete an own message for everyone
  delete {rid, id}          delete a message for this phone only
  query_exists {rid, id}    is this number (or LID) on WhatsApp? value {wid, lid?, biz} or null
  profile_pic {rid, id}     value {path} where the CDN serves its picture (status 404: none)
  group_create {rid, title, participants, lidMode}   value {id, subject, participants [{wid, error?}]}
  group_query {rid, id}     value: the group's metadata
  group_participants {rid, id, action, participants}  action add | remove; value [{wid, code}]
  received {seq}            every event up to seq is applied: the server may forget it
  seen {chat}               the user read this chat
  logout                    Socket.logout()
The server says:
  ref {ref} / idle          a new QR ref; refs exhausted (UNPAIRED_IDLE)
  pairing / paired {cred}   a phone scanned the current QR; the device is linked
  connected {me, lid?, pushname}  the credential is valid (lid: the own LID, 2026-08)
  sync {chats, contacts, groups, timelock, reactions}   the device's history; after it, outbox events
  event {seq, kind, data}   kind: msg {msg, chat, contact?, group?, reactions} | ack {id, ack}
                            | chat {id, unreadCount} | reaction {row} (a row of the reaction table)
                            | edit {id, type, body, caption, editKey, editT} | revoke {id} | delete {id}
                            | contact {contact} | group {group, chat} | timelock {active, until}
  send_error {id, error, code}   a message the network refused (code 463: the reach-out timelock)
  result {rid, ok, value?, error?, status?}  the answer to a request (react, edit, query_exists ...)
  state {state}             a state the network imposes (CONFLICT, TIMEOUT, TOS_BLOCK ...)
  logged_out {reason}       the credential is revoked: clear storage, show the QR again
"""
from __future__ import annotations

import base64
import binascii
import logging
import secrets
from typing import Any, Protocol

from .addressing import lid_wid
from .media import MEDIA_TYPES, THUMBNAIL_TYPES, decode_b64
from .messages import MediaRef
from .network import Device, Network, SimError, chat_id

log = logging.getLogger("fakewa")


class Transport(Protocol):
    def write(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


def _is_key(value: Any) -> bool:
    """A public key as the QR carries it: 32 bytes, 44 base64 characters."""
    if not isinstance(value, str) or len(value) != 44:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


class PageSession:
    """One open page: unpaired (showing rotating QR refs), pairing, or a linked device."""

    def __init__(self, network: Network, transport: Transport) -> None:
        self.network = network
        self.transport = transport
        self.state = "new"  # new | unpaired | idle | pairing | device | closed
        self.keys: dict[str, str] = {}
        self.platform = "WEB"
        self.ref: str | None = None
        self.refs_issued = 0
        self.device: Device | None = None
        self._pairing: Device | None = None  # linked at scan, not yet stored by the page
        self._timer: Any = None
        network.sessions.add(self)

    # -- DeviceLink ---------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        if self.state != "closed":
            self.transport.write(message)

    def force_state(self, state: str) -> None:
        self.send({"type": "state", "state": state})
        self.close(4001, state)

    def logged_out(self, reason: str) -> None:
        self.send({"type": "logged_out", "reason": reason})
        self.close(4002, "logged out")

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self, code: int, reason: str) -> None:
        if self.state == "closed":
            return
        self.transport.close(code, reason)
        self.on_close()

    def on_close(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.network.cancel(self._timer)
        self.network.sessions.discard(self)
        self.network.drop_pair_codes(self)
        if self.device is not None:
            self.network.detach(self.device, self)
        if self._pairing is not None and self._pairing.id in self.network.devices:
            # The page went away before it could keep its credential: nobody can use this link.
            self.network.unlink(self._pairing, None)

    def on_message(self, message: Any) -> None:
        if self.state == "closed":
            return
        kind = message.get("type") if isinstance(message, dict) else None
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            log.warning("fakewa: unknown frame from a page: %r", message)
            return
        handler(message)

    # -- unpaired: QR refs --------------------------------------------------------------------
    def current_qr(self) -> str | None:
        """The full QR payload the page shows now, or None."""
        if self.state != "unpaired" or self.ref is None:
            return None
        return ",".join([self.ref, self.keys["static"], self.keys["identity"], self.keys["adv"], self.platform])

    def _on_hello(self, message: dict[str, Any]) -> None:
        if message.get("cred"):
            self._login(message["cred"])
            return
        keys = message.get("keys")
        if not isinstance(keys, dict) or not all(_is_key(keys.get(k)) for k in ("static", "identity", "adv")):
            self.close(4400, "hello needs keys {static, identity, adv}: 44-character base64")
            return
        self.keys = {k: keys[k] for k in ("static", "identity", "adv")}
        self.platform = str(message.get("platform") or "WEB")
        self.state = "unpaired"
        self._start_qr()

    def _start_qr(self) -> None:
        self.network.cancel(self._timer)
        self.refs_issued = 0
        self._next_ref()

    def _next_ref(self) -> None:
        self._timer = None
        if self.state != "unpaired":
            return
        if self.refs_issued >= self.network.settings.qr_max_refs:
            self.state, self.ref = "idle", None
            self.send({"type": "idle"})
            return
        self.ref = "2@" + base64.b64encode(secrets.token_bytes(48)).decode()
        self.refs_issued += 1
        self.send({"type": "ref", "ref": self.ref})
        self._timer = self.network.later(self.network.settings.qr_interval, self._next_ref)

    def _on_refresh_qr(self, message: dict[str, Any]) -> None:
        if self.state in ("unpaired", "idle"):
            self.state = "unpaired"
            self._start_qr()

    def _on_alt_link(self, message: dict[str, Any]) -> None:
        """The page offers a pairing code for a phone (linking without a QR)."""
        rid = message.get("rid")
        if self.state not in ("unpaired", "idle"):
            self.send({"type": "result", "rid": rid, "ok": False, "error": "alt pairing: this page is not waiting to be linked"})
            return
        try:
            self.network.offer_pair_code(self, message.get("phone"), message.get("code"))
        except SimError as exc:
            self.send({"type": "result", "rid": rid, "ok": False, "error": exc.message, "status": exc.status})
            return
        self.send({"type": "result", "rid": rid, "ok": True})

    def begin_pairing(self, number: str, pushname: str | None) -> Device:
        """A phone scanned this page's current QR, or typed in its pairing code."""
        self.network.cancel(self._timer)
        self.network.drop_pair_codes(self)
        self.state, self.ref = "pairing", None
        self.send({"type": "pairing"})
        self._pairing = self.network.link_device(number, pushname)
        self._timer = self.network.later(self.network.settings.pair_delay, self._paired)
        return self._pairing

    def _paired(self) -> None:
        self._timer = None
        if self._pairing is not None:
            device = self._pairing
            self.send({"type": "paired", "cred": device.credential(), "me": chat_id(device.phone)})

    # -- a linked device ----------------------------------------------------------------------
    def _on_login(self, message: dict[str, Any]) -> None:
        self._login(message.get("cred"))

    def _login(self, credential: Any) -> None:
        device = self.network.authenticate(credential)
        if device is None:
            self.logged_out("revoked")
            return
        self.network.cancel(self._timer)
        self._pairing = None
        phone = self.network.phones[device.phone]
        if phone.ban:
            self.force_state(phone.ban)
            return
        self.state, self.device = "device", device
        self.network.attach(device, self)
        lid = lid_wid(device.phone) if self.network.settings.lids else None
        self.send({"type": "connected", "me": chat_id(device.phone), "lid": lid, "pushname": phone.pushname,
                   "deviceId": device.id})
        self._timer = self.network.later(self.network.settings.sync_delay, self._sync)

    def _sync(self) -> None:
        self._timer = None
        if self.device is not None and self.device.link is self:
            self.network.sync(self.device)

    def _on_send(self, message: dict[str, Any]) -> None:
        msg_id = str(message.get("id") or "")
        if self.device is None:
            self.send({"type": "send_error", "id": msg_id, "error": "not logged in"})
            return
        sender = self.device.phone
        to = message.get("to")
        t = message.get("t")
        try:
            if not msg_id:
                raise SimError(422, "a message needs an id")
            if isinstance(to, str) and to.endswith("@g.us"):
                group = self.network.group(to)
                self._check_from(message, self.network.member_wid(group.id, sender))
                content = self._content(message, None)
                body = content.pop("body")
                self.network.send_group_message(sender, group, body, msg_id=msg_id, t=t if isinstance(t, int) else None,
                                                origin=self.device, **content)
                return
            if not (isinstance(to, str) and (to.endswith("@c.us") or to.endswith("@lid"))):
                raise SimError(422, f"the simulator delivers to <digits>@c.us, <lid>@lid and <group>@g.us chats, not {to!r}")
            recipient = self.network.number_of(to, "to")
            expected = self.network.chat_wid(sender, recipient)
            if to != expected:
                how = "its LID" if expected.endswith("@lid") else "its phone number"
                raise SimError(422, f"this account reaches {recipient} by {how} ({expected}), not {to}")
            self._check_from(message, self.network.own_wid(sender, recipient))
            content = self._content(message, recipient)
            self.network.send_message(
                sender, recipient, msg_id=msg_id, t=t if isinstance(t, int) else None,
                origin=self.device, **content,
            )
        except SimError as exc:
            self.send({"type": "send_error", "id": msg_id, "error": exc.message, "code": exc.status})

    @staticmethod
    def _check_from(message: dict[str, Any], expected: str) -> None:
        sender = message.get("from")
        if sender is not None and sender != expected:
            raise SimError(422, f"a message in this chat goes from {expected}, not {sender}")

    def _content(self, message: dict[str, Any], recipient: str | None) -> dict[str, Any]:
        """What a send frame carries, checked: a text, a file uploaded before, or a location."""
        kind = message.get("kind") or "chat"
        body = message.get("body")
        caption = message.get("caption")
        if caption is not None and not isinstance(caption, str):
            raise SimError(422, "caption must be a string")
        content: dict[str, Any] = {"kind": kind, "body": "", "caption": None}
        if kind == "chat":
            if not isinstance(body, str):
                raise SimError(422, "a text message needs a body")
            content["body"] = body
        elif kind in MEDIA_TYPES:
            content["media"] = self._media(message.get("media"), kind)
            content["caption"] = caption
        elif kind == "location":
            content["location"] = location_of(message.get("location"))
        else:
            raise SimError(422, f"the simulator does not deliver {kind!r} messages")
        quoted = message.get("quoted")
        if quoted is not None:
            stanza = quoted.get("id") if isinstance(quoted, dict) else None
            if recipient is None:  # a group: any message of it
                content["quoted"] = self.network.find_message(self.device.phone, stanza)
            else:
                content["quoted"] = self.network.find_message(self.device.phone, stanza, counterpart=recipient)
        return content

    def _media(self, media: Any, kind: str) -> MediaRef:
        """The file of a media message: it must be on the CDN, uploaded with this mediaKey."""
        if not isinstance(media, dict):
            raise SimError(422, "a media message needs media {directPath, filehash, mediaKey, mimetype, size}")
        upload = self.network.media.upload_at(media.get("directPath"))
        if upload is None or upload.media_key != media.get("mediaKey"):
            raise SimError(422, "the file was not uploaded to the CDN (unknown directPath or mediaKey)")
        stored = self.network.media.files[upload.sha256]
        if stored.expired or decode_b64(media.get("filehash"), "filehash").hex() != upload.sha256:
            raise SimError(422, "filehash does not match the uploaded file")
        mimetype = media.get("mimetype")
        if not isinstance(mimetype, str) or not mimetype or media.get("size") != len(stored.data or b""):
            raise SimError(422, "mimetype and size must describe the uploaded file")
        thumbnail = media.get("thumbnail")
        if kind not in THUMBNAIL_TYPES or not isinstance(thumbnail, str) or len(thumbnail) > 200_000:
            thumbnail = None
        elif thumbnail:
            decode_b64(thumbnail, "thumbnail")
        return MediaRef(
            mimetype=mimetype, size=len(stored.data or b""), upload=upload, filehash=media["filehash"],
            filename=_optional(media, "filename", str), duration=_optional(media, "duration", int),
            width=_optional(media, "width", int), height=_optional(media, "height", int), thumbnail=thumbnail or None,
        )

    # -- actions on sent messages: each answered with a result frame --------------------------
    def _act(self, message: dict[str, Any], action: Any) -> None:
        rid = message.get("rid")
        if self.device is None:
            self.send({"type": "result", "rid": rid, "ok": False, "error": "not logged in"})
            return
        try:
            msg = self.network.find_message(self.device.phone, message.get("id"))
            action(msg)
        except SimError as exc:
            self.send({"type": "result", "rid": rid, "ok": False, "error": exc.message})
            return
        self.send({"type": "result", "rid": rid, "ok": True})

    def _on_react(self, message: dict[str, Any]) -> None:
        self._act(message, lambda msg: self.network.react(
            self.device.phone, msg, message.get("emoji"), origin=self.device,
            reaction_id=_optional(message, "reactionId", str)))

    def _on_edit(self, message: dict[str, Any]) -> None:
        self._act(message, lambda msg: self.network.edit_message(
            self.device.phone, msg, message.get("body"), origin=self.device,
            edit_id=_optional(message, "editId", str)))

    def _on_revoke(self, message: dict[str, Any]) -> None:
        self._act(message, lambda msg: self.network.revoke_message(self.device.phone, msg, origin=self.device))

    def _on_delete(self, message: dict[str, Any]) -> None:
        self._act(message, lambda msg: self.network.delete_for_me(self.device.phone, msg, origin=self.device))

    def _on_received(self, message: dict[str, Any]) -> None:
        if self.device is not None and isinstance(message.get("seq"), int):
            self.device.confirm(message["seq"])

    def _on_seen(self, message: dict[str, Any]) -> None:
        if self.device is None:
            return
        chat = message.get("chat")
        try:
            if isinstance(chat, str) and chat.endswith("@g.us"):
                self.device_phone().unread[self.network.group(chat).id] = 0
                return
            self.network.read(self.device.phone, self.network.number_of(chat, "chat"))
        except SimError as exc:
            log.info("fakewa: seen ignored: %s", exc.message)

    def device_phone(self) -> Any:
        assert self.device is not None
        return self.network.phones[self.device.phone]

    # -- requests about people and groups: each answered with a result frame carrying a value --
    def _answer(self, message: dict[str, Any], compute: Any) -> None:
        rid = message.get("rid")
        if self.device is None:
            self.send({"type": "result", "rid": rid, "ok": False, "error": "not logged in", "status": 401})
            return
        try:
            value = compute(self.device.phone)
        except SimError as exc:
            self.send({"type": "result", "rid": rid, "ok": False, "error": exc.message, "status": exc.status})
            return
        self.send({"type": "result", "rid": rid, "ok": True, "value": value})

    def _on_query_exists(self, message: dict[str, Any]) -> None:
        def query(me: str) -> dict[str, Any] | None:
            wid = message.get("id")
            try:
                number = self.network.number_of(wid, "id")
            except SimError:
                return None
            if number not in self.network.phones:
                return None
            if not str(wid).endswith("@lid"):
                self.network.phones[me].looked_up.add(number)  # typed in: its number is known now
                self.network.push_contact(me, number)
            contact = self.network.contact_info(me, number)
            return {"wid": wid, "biz": contact["isBusiness"], "contact": contact}
        self._answer(message, query)

    def _on_profile_pic(self, message: dict[str, Any]) -> None:
        def picture(me: str) -> dict[str, Any]:
            wid = message.get("id")
            if isinstance(wid, str) and wid.endswith("@g.us"):
                raise SimError(404, "no profile picture")
            return {"path": self.network.picture_path(wid)}
        self._answer(message, picture)

    def _on_group_create(self, message: dict[str, Any]) -> None:
        def create(me: str) -> dict[str, Any]:
            lid_mode = message.get("lidMode") is True and self.network.settings.lids
            group, results = self.network.create_group(me, message.get("title"), message.get("participants"), lid_mode)
            return {"id": group.id, "subject": group.name,
                    "participants": [{"wid": p, **({"error": code} if code != 200 else {})} for p, code in results]}
        self._answer(message, create)

    def _on_group_query(self, message: dict[str, Any]) -> None:
        def query(me: str) -> dict[str, Any]:
            group = self.network.group(message.get("id"))
            if me not in group.members:
                raise SimError(403, "not a member of this group")
            return self.network.group_info(group, me)
        self._answer(message, query)

    def _on_group_participants(self, message: dict[str, Any]) -> None:
        def modify(me: str) -> list[dict[str, Any]]:
            group = self.network.group(message.get("id"))
            results = self.network.modify_participants(me, group, message.get("action"), message.get("participants"))
            return [{"wid": p, "code": code} for p, code in results]
        self._answer(message, modify)

    def _on_logout(self, message: dict[str, Any]) -> None:
        if self.device is not None and self.device.id in self.network.devices:
            self.network.unlink(self.device, "local")
        else:
            self.logged_out("local")


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def location_of(value: Any) -> dict[str, Any]:
    """``{lat, lng, loc}`` checked: coordinates in range, ``loc`` the "name\naddress" text."""
    if not isinstance(value, dict):
        raise SimError(422, "a location message needs location {lat, lng, loc?}")
    lat, lng, loc = value.get("lat"), value.get("lng"), value.get("loc")
    for name, number, bound in (("lat", lat, 90), ("lng", lng, 180)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not -bound <= number <= bound:
            raise SimError(422, f"{name} must be a number between -{bound} and {bound}")
    if loc is not None and (not isinstance(loc, str) or len(loc) > 2000):
        raise SimError(422, "loc must be a string (name and address on two lines)")
    return {"lat": float(lat), "lng": float(lng), "loc": loc or ""}

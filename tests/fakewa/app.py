"""The simulator's Tornado app: the page at ``/``, its websocket, and the control API under ``/__sim/``.

The control API (JSON in and out; a refusal is ``{"error": message, "status": code}``), what a
phone and the network would do:

- ``POST /__sim/scan {qr, phone, pushname?}``: the phone scans the QR payload a page shows now.
- ``POST /__sim/phones/{phone}/incoming {from, body?, caption?, media?, location?, quotedId?, pushname?}``:
  ``from`` sends ``phone`` one message, answered as ``phone`` sees it (as in ``.../messages``):
  a text (``body``); a file (``media {mimetype, filename?, data (base64), kind?}``, with an
  optional ``caption``; ``kind`` image, video, audio, voice, document or sticker, else from the
  mimetype: ``audio/ogg; codecs=opus`` is a voice note); or a location (``location {latitude,
  longitude, name?, address?}``). ``quotedId``: the message it replies to, as ``phone`` sees it.
- ``POST /__sim/phones/{phone}/react {to, msgId, emoji}``: the phone reacts to a message of its chat
  with ``to`` (its own or theirs); a new emoji replaces its earlier one, ``""`` removes it.
- ``POST /__sim/phones/{phone}/edit {to, msgId, body}``: the phone edits its own message (a text, or
  a media message's caption) within ``edit_window``; 403 when not its own, 409 when too late.
- ``POST /__sim/phones/{phone}/revoke {to, msgId}``: the phone deletes its own message for everyone
  (within ``revoke_window``).
- ``GET /__sim/phones/{phone}/messages``: what the phone sent and received (less what it deleted
  for itself): ``id``, ``from``, ``to``, ``t``, ``ack``, ``chatId``, ``type``, ``body``, ``caption``,
  ``media {mimetype, filename, size, sha256}``, ``location {latitude, longitude, name, address}``,
  ``quotedId``, ``reactions [{sender, emoji}]``, ``edited``, ``revoked``.
- ``POST /__sim/phones/{phone}/read {chatId}``: the phone reads that chat (the sender's acks become 3).
- ``GET /__sim/media/{sha256}``: the exact bytes of a file the network holds (410 once expired).
- ``POST /__sim/media/{sha256}/expire``: every copy of the file is gone: downloads fail (404 on the
  CDN) and the pages show ``REUPLOADING``; answers how many messages carried it.
- ``POST /__sim/phones/{phone}/logout``: unlink every device of the phone.
- ``POST /__sim/phones/{phone}/state {state}``: impose CONFLICT, TIMEOUT, TOS_BLOCK ... on its open pages.
- ``GET /__sim/phones``: every phone of the network, ``{phone, pushname, devices, online}``.
- People and groups (phones, pairing codes, LIDs, address books, groups, the reach-out timelock,
  profile pictures): see ``control_people.py``.
- ``GET /__sim/devices``: the linked devices, and how many open pages are not linked.
- ``GET /__sim/pages``: the open pages, ``{state, qr, phone}``: ``qr`` the payload a page shows
  now (state UNPAIRED), ``phone`` the number a linked page belongs to.
- ``POST /__sim/reset``: forget everything.

``msgId`` is the id as the phone itself sees the message (``true_...``/``false_...``, as ``.../messages``
lists it); the other side's id and the bare id are accepted too. Where a phone is named (``to``,
``chatId``), its ``<lid>@lid`` is accepted as well as its number.

What the page itself uses besides its websocket: ``POST /mms/{type}`` uploads a file to the CDN
(the device's credential in ``Authorization: WADevice <deviceId>:<secret>``, the file's base64
sha256 in ``X-WA-Filehash`` and its ``X-WA-Media-Key``) and answers its ``direct_path``;
``GET /v/...`` (a ``directPath``) downloads it.

``GET /__sim/phone`` is a page for people (``static/phone.js``): play a phone by hand, scan the
codes of open pages, chat as a contact or as the phone. ``python -m tests.fakewa.demo`` uses it.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from . import control_people as people
from .app_base import ControlHandler, text_arg
from .media import describe, decode_b64, message_type
from .messages import MediaRef
from .network import Network, SimError, normalize_phone
from .session import location_of
from .session import PageSession
from .settings import SimSettings

HERE = Path(__file__).resolve().parent
WA_VERSION = "2.3000.1025090000"
log = logging.getLogger("fakewa")


class PageHandler(tornado.web.RequestHandler):
    """The web client: ``/`` and ``/?post_logout=1`` are the same page."""

    def initialize(self, settings: SimSettings) -> None:
        self.sim_settings = settings

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        config = {**self.sim_settings.page_config(), "version": WA_VERSION}
        # "</" cannot end the inline <script> early once escaped.
        self.render("index.html", config=json.dumps(config).replace("</", "<\\/"))


class _SocketTransport:
    def __init__(self, handler: "PageSocket") -> None:
        self.handler = handler

    def write(self, message: dict[str, Any]) -> None:
        try:
            sent = self.handler.write_message(json.dumps(message))
            # A socket that closes mid-write fails this future; nobody waits on it.
            sent.add_done_callback(lambda f: f.cancelled() or f.exception())
        except tornado.websocket.WebSocketClosedError:
            # on_close may never come for a socket that died under us.
            if self.handler.session is not None:
                self.handler.session.on_close()

    def close(self, code: int, reason: str) -> None:
        self.handler.close(code, reason)


class PageSocket(tornado.websocket.WebSocketHandler):
    """What WhatsApp's servers are to the real page (``wss://web.whatsapp.com/ws/chat``)."""

    def initialize(self, network: Network) -> None:
        self.network = network
        self.session: PageSession | None = None

    def open(self) -> None:
        self.session = PageSession(self.network, _SocketTransport(self))

    def on_message(self, data: str | bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self.close(4400, "frames are JSON")
            return
        if self.session is not None:
            self.session.on_message(message)

    def on_close(self) -> None:
        if self.session is not None:
            self.session.on_close()


class ScanHandler(ControlHandler):
    def post(self) -> None:
        data = self.body()
        number = normalize_phone(data.get("phone"))
        device = self.network.scan(data.get("qr"), number, text_arg(data, "pushname", required=False))
        self.reply({"phone": number, "device": device.id, "state": "PAIRING"})


class IncomingHandler(ControlHandler):
    def post(self, phone: str) -> None:
        # Any number is a phone: it may receive messages before any device of it is linked.
        number = normalize_phone(phone)
        data = self.body()
        sender = normalize_phone(data.get("from"), "from")
        if sender == number:
            raise SimError(422, "from must be another phone than the recipient")
        content = self.content(data)
        quoted_id = data.get("quotedId")
        if quoted_id is not None:
            self.network.phone(number)
            content["quoted"] = self.network.find_message(number, quoted_id, counterpart=sender)
        pushname = text_arg(data, "pushname", required=False)
        if pushname:
            self.network.phone(sender, create=True).pushname = pushname
        msg = self.network.send_message(sender, number, **content)
        self.reply({"message": msg.listing(number)})

    def content(self, data: dict[str, Any]) -> dict[str, Any]:
        """Exactly one of a text ``body``, a file ``media`` (with a ``caption``) or a ``location``."""
        body, media, location = data.get("body"), data.get("media"), data.get("location")
        given = [name for name, value in (("body", body), ("media", media), ("location", location)) if value is not None]
        if len(given) != 1:
            raise SimError(422, "send exactly one of body (a text), media (a file) or location")
        caption = text_arg(data, "caption", required=False)
        if caption is not None and media is None:
            raise SimError(422, "caption goes with media")
        if body is not None:
            if not isinstance(body, str):
                raise SimError(422, "body is required and must be a string")
            return {"body": body}
        if location is not None:
            return {"kind": "location", "body": "", "location": self.location(location)}
        return {"kind": self.media_type(media), "body": "", "media": self.media(media), "caption": caption}

    @staticmethod
    def location(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SimError(422, "location must be {latitude, longitude, name?, address?}")
        name, address = value.get("name"), value.get("address")
        for key, text in (("name", name), ("address", address)):
            if text is not None and not isinstance(text, str):
                raise SimError(422, f"location.{key} must be a string")
        loc = f"{name or ''}\n{address}" if address else (name or "")
        return location_of({"lat": value.get("latitude"), "lng": value.get("longitude"), "loc": loc})

    @staticmethod
    def media_type(media: Any) -> str:
        if not isinstance(media, dict) or not isinstance(media.get("mimetype"), str) or not media["mimetype"]:
            raise SimError(422, "media must be {mimetype, filename?, data (base64), kind?}")
        kind = media.get("kind")
        return message_type(media["mimetype"], kind if kind is not None else None)

    def media(self, media: dict[str, Any]) -> MediaRef:
        """The phone uploads the file to the CDN, as a phone does before sending it."""
        data = decode_b64(media.get("data"), "media.data")
        mimetype, msg_type = media["mimetype"], self.media_type(media)
        limit = self.network.settings.document_limit if msg_type == "document" else self.network.settings.media_limit
        if len(data) > limit:
            raise SimError(413, f"the file has {len(data)} bytes; WhatsApp takes {limit} at most for a {msg_type}")
        filename = text_arg(media, "filename", required=False)
        upload = self.network.media.put(data, mimetype)
        info = describe(data, mimetype, msg_type)
        return MediaRef(
            mimetype=mimetype, size=len(data), upload=upload, filehash=base64.b64encode(bytes.fromhex(upload.sha256)).decode(),
            filename=filename or ("file" if msg_type == "document" else None), duration=info["duration"],
            width=info["width"], height=info["height"], thumbnail=info["thumbnail"],
        )


class MessageActionHandler(ControlHandler):
    """``POST /__sim/phones/{phone}/<action> {to, msgId, ...}``: the phone acts on a message of its
    chat with ``to``; answers the message as the phone sees it now."""

    def target(self, phone: str) -> tuple[str, Any, dict[str, Any]]:
        number = self.phone_arg(phone)
        data = self.body()
        to = self.network.number_of(data.get("to"), "to")
        return number, self.network.find_message(number, data.get("msgId"), counterpart=to), data


class ReactHandler(MessageActionHandler):
    def post(self, phone: str) -> None:
        number, msg, data = self.target(phone)
        self.network.react(number, msg, data.get("emoji"))
        self.reply({"message": msg.listing(number)})


class EditHandler(MessageActionHandler):
    def post(self, phone: str) -> None:
        number, msg, data = self.target(phone)
        self.network.edit_message(number, msg, data.get("body"))
        self.reply({"message": msg.listing(number)})


class RevokeHandler(MessageActionHandler):
    def post(self, phone: str) -> None:
        number, msg, _ = self.target(phone)
        self.network.revoke_message(number, msg)
        self.reply({"message": msg.listing(number)})


def _sha256_arg(value: str) -> str:
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise SimError(422, "a file is named by its sha256: 64 hexadecimal digits")
    return value.lower()


class MediaFileHandler(ControlHandler):
    """``GET /__sim/media/{sha256}``: the bytes the network holds."""

    def get(self, sha256: str) -> None:
        stored = self.network.media.file(_sha256_arg(sha256))
        if stored.data is None:
            raise SimError(410, "the file expired: the network holds no copy of it")
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("X-Mimetype", stored.mimetype)
        self.finish(stored.data)


class MediaExpireHandler(ControlHandler):
    def post(self, sha256: str) -> None:
        digest = _sha256_arg(sha256)
        self.reply({"sha256": digest, "expired": True, "messages": self.network.expire_media(digest)})


class UploadHandler(ControlHandler):
    """``POST /mms/{type}``: a page uploads a file to the CDN (the real site posts to mmg.whatsapp.net)."""

    def post(self, media_type: str) -> None:
        auth = self.request.headers.get("Authorization", "")
        device_id, _, secret = auth.removeprefix("WADevice ").rpartition(":")
        if not auth.startswith("WADevice ") or self.network.authenticate({"deviceId": device_id, "secret": secret}) is None:
            raise SimError(401, "uploads need a linked device's credential")
        settings = self.network.settings
        limit = settings.document_limit if media_type == "document" else settings.media_limit
        data = self.request.body
        if len(data) > limit:
            raise SimError(413, f"the file has {len(data)} bytes; WhatsApp takes {limit} at most for a {media_type}")
        filehash = decode_b64(self.request.headers.get("X-WA-Filehash"), "X-WA-Filehash")
        media_key = self.request.headers.get("X-WA-Media-Key", "")
        if len(decode_b64(media_key, "X-WA-Media-Key")) != 32:
            raise SimError(400, "X-WA-Media-Key must be 32 bytes in base64")
        if hashlib.sha256(data).digest() != filehash:
            raise SimError(400, "the file does not match its X-WA-Filehash: damaged on the way")
        upload = self.network.media.put(data, self.request.headers.get("Content-Type") or "application/octet-stream", media_key)
        self.reply({"url": "https://mmg.whatsapp.net" + upload.direct_path, "direct_path": upload.direct_path,
                    "encFilehash": upload.enc_filehash, "mediaKeyTimestamp": upload.media_key_timestamp})


class CdnHandler(ControlHandler):
    """``GET /v/...``: the CDN, where a message's ``directPath`` leads."""

    def get(self) -> None:
        stored = self.network.media.download(self.request.path)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Cache-Control", "no-store")
        self.finish(stored.data)


class MessagesHandler(ControlHandler):
    def get(self, phone: str) -> None:
        self.reply({"messages": self.network.messages_of(self.phone_arg(phone))})


class ReadHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        counterpart = self.network.number_of(self.body().get("chatId"), "chatId")
        self.reply({"read": self.network.read(number, counterpart)})


class LogoutHandler(ControlHandler):
    def post(self, phone: str) -> None:
        self.reply({"unlinked": self.network.logout(self.phone_arg(phone))})


class StateHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        state = self.body().get("state")
        self.reply({"state": state, "devices": self.network.force_state(number, state)})


class DevicesHandler(ControlHandler):
    def get(self) -> None:
        unpaired = sum(1 for s in self.network.sessions if s.state in ("unpaired", "idle"))
        self.reply({"devices": self.network.describe_devices(), "unpaired": unpaired})


# A page's state as WhatsApp Web names it (WAState), from the simulator's view of its socket.
PAGE_STATES = {
    "new": "OPENING", "unpaired": "UNPAIRED", "idle": "UNPAIRED_IDLE", "pairing": "PAIRING", "device": "CONNECTED",
}


class PagesHandler(ControlHandler):
    def get(self) -> None:
        pages = []
        for session in list(self.network.sessions):
            if session.state not in PAGE_STATES:
                continue
            device = session.device
            pages.append({
                "state": PAGE_STATES[session.state],
                "qr": session.current_qr(),
                "phone": device.phone if device is not None and session.state == "device" else None,
            })
        self.reply({"pages": pages})


class PhonePageHandler(tornado.web.RequestHandler):
    """``/__sim/phone``: the phone played by hand. Its script renders every text with textContent;
    the policy allows nothing else."""

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", "; ".join([
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
            "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
        ]))
        self.set_header("Referrer-Policy", "no-referrer")
        self.render("phone.html")


class ResetHandler(ControlHandler):
    def post(self) -> None:
        self.network.reset()
        self.reply({"reset": True})


class NotFoundHandler(ControlHandler):
    def prepare(self) -> None:
        raise SimError(404, f"no such path: {self.request.path}")


class FakeWhatsApp:
    """The simulator: ``await sim.start(host, port)``, then point a browser at ``sim.url``."""

    def __init__(self, settings: SimSettings | None = None, **overrides: Any) -> None:
        settings = settings or SimSettings()
        self.settings = settings.replace(**overrides) if overrides else settings
        self.network = Network(self.settings)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._server: tornado.httpserver.HTTPServer | None = None

    def make_app(self) -> tornado.web.Application:
        net = {"network": self.network}
        phone = r"/__sim/phones/([^/]+)"
        return tornado.web.Application(
            [
                (r"/", PageHandler, {"settings": self.settings}),
                (r"/ws/chat", PageSocket, net),
                (r"/__sim/scan", ScanHandler, net),
                (phone + "/incoming", IncomingHandler, net),
                (phone + "/messages", MessagesHandler, net),
                (phone + "/read", ReadHandler, net),
                (phone + "/react", ReactHandler, net),
                (phone + "/edit", EditHandler, net),
                (phone + "/revoke", RevokeHandler, net),
                (r"/__sim/media/([^/]+)", MediaFileHandler, net),
                (r"/__sim/media/([^/]+)/expire", MediaExpireHandler, net),
                (r"/mms/(image|video|audio|ptt|document|sticker|gif)", UploadHandler, net),
                (r"/v/.+", CdnHandler, net),
                (phone + "/logout", LogoutHandler, net),
                (phone + "/state", StateHandler, net),
                (phone + "/lid-addressing", people.LidAddressingHandler, net),
                (phone + "/contacts", people.ContactsHandler, net),
                (phone + "/timelock", people.TimelockHandler, net),
                (phone + "/picture", people.PictureHandler, net),
                (phone, people.PhoneHandler, net),
                (r"/__sim/pair", people.PairHandler, net),
                (r"/__sim/groups", people.GroupsHandler, net),
                (r"/__sim/groups/([^/]+)", people.GroupHandler, net),
                (r"/__sim/groups/([^/]+)/messages", people.GroupMessagesHandler, net),
                (r"/pps/t61\.24694-24/([0-9a-f]+)_n\.jpg", people.PictureCdnHandler, net),
                (r"/__sim/devices", DevicesHandler, net),
                (r"/__sim/pages", PagesHandler, net),
                (r"/__sim/phones", people.PhonesHandler, net),
                (r"/__sim/phone", PhonePageHandler),
                (r"/__sim/reset", ResetHandler, net),
            ],
            default_handler_class=NotFoundHandler,
            default_handler_args=net,
            static_path=str(HERE / "static"),
            template_path=str(HERE / "templates"),
            websocket_ping_interval=10,
            websocket_ping_timeout=10,
        )

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the simulator is not started: await sim.start() first")
        return f"http://{self.host}:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 9311) -> str:
        """Listen on ``host:port`` (0: any free port) and return the page's URL."""
        try:
            sockets = tornado.netutil.bind_sockets(port, host)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = f"port {port} is in use: stop the other simulator or pick another port"
                raise OSError(exc.errno, message) from exc
            raise
        # Uploads come whole in one request, as the site's do.
        largest = max(self.settings.media_limit, self.settings.document_limit) + 1024 * 1024
        self._server = tornado.httpserver.HTTPServer(self.make_app(), max_body_size=largest, max_buffer_size=largest)
        self._server.add_sockets(sockets)
        self.host, self.port = host, sockets[0].getsockname()[1]
        log.info("fakewa listening on %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Close every page connection and stop listening; the state is forgotten."""
        self.network.reset()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    def reset(self) -> None:
        self.network.reset()

"""The simulator's Tornado app: the page at ``/``, its websocket, and the control API under ``/__sim/``.

The control API (JSON in and out; a refusal is ``{"error": message, "status": code}``), what a
phone and the network would do:

- ``POST /__sim/scan {qr, phone, pushname?}``: the phone scans the QR payload a page shows now.
- ``POST /__sim/phones/{phone}/incoming {from, body, pushname?}``: ``from`` sends ``body`` to ``phone``.
- ``GET /__sim/phones/{phone}/messages``: what the phone sent and received, with acks and ``chatId``.
- ``POST /__sim/phones/{phone}/read {chatId}``: the phone reads that chat (the sender's acks become 3).
- ``POST /__sim/phones/{phone}/logout``: unlink every device of the phone.
- ``POST /__sim/phones/{phone}/state {state}``: impose CONFLICT, TIMEOUT, TOS_BLOCK ... on its open pages.
- ``GET /__sim/phones``: every phone of the network, ``{phone, pushname, devices, online}``.
- ``GET /__sim/devices``: the linked devices, and how many open pages are not linked.
- ``GET /__sim/pages``: the open pages, ``{state, qr, phone}``: ``qr`` the payload a page shows
  now (state UNPAIRED), ``phone`` the number a linked page belongs to.
- ``POST /__sim/reset``: forget everything.

``GET /__sim/phone`` is a page for people (``static/phone.js``): play a phone by hand, scan the
codes of open pages, chat as a contact or as the phone. ``python -m tests.fakewa.demo`` uses it.
"""
from __future__ import annotations

import errno
import json
import logging
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from .network import Network, SimError, normalize_phone
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


class ControlHandler(tornado.web.RequestHandler):
    """JSON in and out; every refusal is ``{"error": message, "status": code}``."""

    def initialize(self, network: Network) -> None:
        self.network = network

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise SimError(400, f"the body must be JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SimError(400, "the body must be a JSON object")
        return data

    def phone_arg(self, phone: str) -> str:
        number = normalize_phone(phone)
        self.network.phone(number)  # 404 when unknown
        return number

    def reply(self, data: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SimError):
            status_code, message = exc.status, exc.message
            self.set_status(status_code)
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        else:
            message = self._reason
        self.reply({"error": message, "status": status_code})

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, SimError):
            super().log_exception(typ, value, tb)


def _text(data: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise SimError(422, f"{key} is required and must be a string")
    return value


class ScanHandler(ControlHandler):
    def post(self) -> None:
        data = self.body()
        number = normalize_phone(data.get("phone"))
        device = self.network.scan(data.get("qr"), number, _text(data, "pushname", required=False))
        self.reply({"phone": number, "device": device.id, "state": "PAIRING"})


class IncomingHandler(ControlHandler):
    def post(self, phone: str) -> None:
        # Any number is a phone: it may receive messages before any device of it is linked.
        number = normalize_phone(phone)
        data = self.body()
        sender = normalize_phone(data.get("from"), "from")
        body = data.get("body")
        if not isinstance(body, str):
            raise SimError(422, "body is required and must be a string")
        if sender == number:
            raise SimError(422, "from must be another phone than the recipient")
        pushname = _text(data, "pushname", required=False)
        if pushname:
            self.network.phone(sender, create=True).pushname = pushname
        msg = self.network.send_message(sender, number, body)
        self.reply({"message": {**msg.view(number), "chatId": f"{sender}@c.us"}})


class MessagesHandler(ControlHandler):
    def get(self, phone: str) -> None:
        self.reply({"messages": self.network.messages_of(self.phone_arg(phone))})


class ReadHandler(ControlHandler):
    def post(self, phone: str) -> None:
        number = self.phone_arg(phone)
        counterpart = normalize_phone(self.body().get("chatId"), "chatId")
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
                (phone + "/logout", LogoutHandler, net),
                (phone + "/state", StateHandler, net),
                (r"/__sim/devices", DevicesHandler, net),
                (r"/__sim/pages", PagesHandler, net),
                (r"/__sim/phones", PhonesHandler, net),
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
        self._server = tornado.httpserver.HTTPServer(self.make_app())
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

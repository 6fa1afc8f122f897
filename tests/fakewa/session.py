"""The server's half of one page's websocket, the way WhatsApp's servers talk to the web client.

Protocol (JSON text frames). The page says:
  hello {cred | null, keys {static, identity, adv}, platform}   first frame after connecting
  login {cred}              after storing the credential it was given at pairing
  refresh_qr                Cmd.refreshQR()
  send {id, to, body, t}    a message from this device (resent until acked: ids make it idempotent)
  received {seq}            every event up to seq is applied: the server may forget it
  seen {chat}               the user read this chat
  logout                    Socket.logout()
The server says:
  ref {ref} / idle          a new QR ref; refs exhausted (UNPAIRED_IDLE)
  pairing / paired {cred}   a phone scanned the current QR; the device is linked
  connected {me, pushname}  the credential is valid
  sync {chats, contacts}    the device's history; after it, outbox events
  event {seq, kind, data}   kind: msg {msg, chat} | ack {id, ack} | chat {id, unreadCount}
  send_error {id, error}    a message the network refused
  state {state}             a state the network imposes (CONFLICT, TIMEOUT, TOS_BLOCK ...)
  logged_out {reason}       the credential is revoked: clear storage, show the QR again
"""
from __future__ import annotations

import base64
import binascii
import logging
import secrets
from typing import Any, Protocol

from .network import Device, Network, SimError, chat_id, normalize_phone

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

    def begin_pairing(self, number: str, pushname: str | None) -> Device:
        """A phone scanned this page's current QR."""
        self.network.cancel(self._timer)
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
        self.send({"type": "connected", "me": chat_id(device.phone), "pushname": phone.pushname, "deviceId": device.id})
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
        to, body = message.get("to"), message.get("body")
        try:
            if not (isinstance(to, str) and to.endswith("@c.us")):
                raise SimError(422, f"the simulator delivers only to <digits>@c.us chats, not {to!r}")
            recipient = normalize_phone(to, "to")
            if not isinstance(body, str) or not msg_id:
                raise SimError(422, "a message needs an id and a text body")
        except SimError as exc:
            self.send({"type": "send_error", "id": msg_id, "error": exc.message})
            return
        t = message.get("t")
        self.network.send_message(
            self.device.phone, recipient, body, msg_id=msg_id,
            t=t if isinstance(t, int) else None, origin=self.device,
        )

    def _on_received(self, message: dict[str, Any]) -> None:
        if self.device is not None and isinstance(message.get("seq"), int):
            self.device.confirm(message["seq"])

    def _on_seen(self, message: dict[str, Any]) -> None:
        if self.device is None:
            return
        try:
            self.network.read(self.device.phone, normalize_phone(message.get("chat"), "chat"))
        except SimError as exc:
            log.info("fakewa: seen ignored: %s", exc.message)

    def _on_logout(self, message: dict[str, Any]) -> None:
        if self.device is not None and self.device.id in self.network.devices:
            self.network.unlink(self.device, "local")
        else:
            self.logged_out("local")

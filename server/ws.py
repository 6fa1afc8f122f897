"""``/ws``: each user's live channel. Registered by the core as an ordinary plugin.

A socket authenticates before the upgrade and joins its user's channel. The hub subscribes to
each channel on the event bus once, for all the channel's sockets of this process: an event is
encoded once (by the bus), framed once (:func:`text_frame`), and the same bytes are written to
every socket's stream, with no queue and no task per socket. A socket whose client reads so slowly
that ``websocket.queue_size`` frames wait in its stream's write buffer is closed with 1013 rather
than allowed to grow memory. Commands sent by the
client are dispatched to the handlers plugins register with ``register_ws_commands``; a
socket opened with a read-only credential (an API key made with ``readOnly``) may only send
the commands marked :func:`read_command`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields
from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler, WebSocketProtocol13

from server import access, hookimpl, openapi
from server.errors import ApiError, error_body
from server.events import encode, event, user_channel
from server.handlers import ErrorContract, authenticate, has_lone_surrogate, request_credential
from server.plugins import call_hook
from server.timeutil import iso
from server.users import REVOCATIONS, get_user, public_user

if TYPE_CHECKING:
    from server.app import WamultiApp

log = logging.getLogger("wamulti.ws")

CommandHandler = Callable[["UserSocket", dict[str, Any]], Awaitable[Any]]
C = TypeVar("C", bound=Callable[..., Any])

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 1013

READ_ATTRIBUTE = "__wamulti_ws_read__"


def read_command(fn: C) -> C:
    """Mark a websocket command that only reads: a socket opened with a read-only credential may
    send it. Every other command answers such a socket 403."""
    setattr(fn, READ_ATTRIBUTE, True)
    return fn


def is_read_command(fn: Any) -> bool:
    return getattr(fn, READ_ATTRIBUTE, False) is True


def text_frame(payload: bytes) -> bytes:
    """One whole text frame as a server sends it (RFC 6455 section 5.2): FIN and opcode 1, the
    payload length in 7, 16 or 64 bits, no mask, no compression."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x81, size)
    elif size <= 0xFFFF:
        head = struct.pack("!BBH", 0x81, 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 127, size)
    return head + payload


FrameWriter = Callable[[bytes], "asyncio.Future[None] | None"]


def raw_frame_writer(connection: Any) -> FrameWriter | None:
    """The call that writes ready-made frame bytes on this websocket's connection, or None when
    the socket must send through Tornado's public ``write_message`` instead.

    The call answers None when the kernel took the whole frame at once (the usual case), else the
    future of the write, which resolves once the frame's last byte left the stream's buffer.

    Tornado has no public way to write a frame that is already made, so this reaches into its
    protocol object, and nowhere else does: ``WebSocketProtocol13.stream`` (the connection's
    IOStream once the upgrade is done), ``_compressor`` (None unless permessage-deflate was agreed;
    ``UserSocket.get_compression_options`` refuses it) and ``mask_outgoing`` (False on the server
    side). Checked against Tornado 6.4.2, 6.5.2 and 6.6.1 (setup.cfg asks for 6.4 or later), where
    ``_write_frame`` builds the same header as :func:`text_frame` and hands it to ``stream.write``.
    When a later Tornado changes any of the three, this answers None and each socket falls back
    to ``write_message``: the same frames, built once per socket instead of once per event.

    The stream itself is used through its public API only (``socket``, ``writing()``,
    ``closed()``, ``write()``). When nothing waits in its buffer, the frame goes straight to
    ``socket.send``: ``IOStream.write`` costs about as much again as the system call (a future
    with a callback, a buffer entry, a scheduled call: the fan-out profile of docs/benchmarks.md,
    "Round 2"). Whatever the kernel does not take, and every frame while something waits, goes
    through ``stream.write``, so the bytes stay in order and the stream's buffer (which bounds a
    slow client) holds the rest. A plain ``IOStream`` only: an ``SSLIOStream``'s socket must not
    be written around its TLS state, so a TLS stream always goes through ``stream.write``.
    """
    if not isinstance(connection, WebSocketProtocol13):
        return None
    if getattr(connection, "_compressor", True) is not None or getattr(connection, "mask_outgoing", True):
        return None
    stream = getattr(connection, "stream", None)
    if not isinstance(stream, IOStream):
        return None
    if type(stream) is not IOStream:  # TLS (SSLIOStream): every frame through the stream
        return stream.write
    sock = stream.socket

    def write(frame: bytes) -> asyncio.Future[None] | None:
        if stream.writing() or stream.closed():
            return stream.write(frame)  # behind what waits (or StreamClosedError, as before)
        try:
            sent = sock.send(frame)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # A reset or broken connection: the stream meets the same error and closes as usual.
            return stream.write(frame)
        if sent == len(frame):
            return None
        return stream.write(memoryview(frame)[sent:])

    return write


class WsQuerySchema(Schema):
    token = fields.String(metadata={"description": "The JWT, for clients that cannot send headers."})
    api_key = fields.String(metadata={"description": "An API key, for clients that cannot send headers."})
    userId = fields.Integer(metadata={"description": "Admins: the user whose channel to watch."})


async def revoke_credential(app: Any, credential_id: str) -> None:
    """Tell every server process that a credential (an API key, named by the ``credential_id``
    its ``authenticate`` put on the user row) was revoked: the sockets opened with it close now
    (4401), not at the next re-authentication."""
    await app.events.publish(REVOCATIONS, event("credential.revoked", {"credentialId": credential_id}))


class SocketHub:
    """The open sockets of this process, by channel, and the command table."""

    def __init__(self) -> None:
        self.sockets: set[UserSocket] = set()
        self.channels: dict[str, set[UserSocket]] = {}
        self._relays: dict[str, Callable[[str], None]] = {}
        self.commands: dict[str, CommandHandler] = {"ping": _ping}
        self.slow_closed = 0  # sockets closed with 1013 since start (a metric)

    def join(self, socket: UserSocket, bus: Any) -> None:
        """Deliver the events of ``socket.channel`` to the socket from now on. The first socket of
        a channel subscribes the hub to it on the bus; the others share that subscription."""
        members = self.channels.get(socket.channel)
        if members is None:
            members = self.channels[socket.channel] = set()
            relay = self._relays[socket.channel] = _relay_to(members)
            bus.subscribe(socket.channel, relay)
        members.add(socket)

    def leave(self, socket: UserSocket, bus: Any) -> None:
        """Stop delivering to ``socket``; the last socket of a channel unsubscribes the hub."""
        members = self.channels.get(socket.channel)
        if members is None:
            return
        members.discard(socket)
        if not members:
            del self.channels[socket.channel]
            relay = self._relays.pop(socket.channel)
            if bus is not None:
                bus.unsubscribe(socket.channel, relay)

    @property
    def connections(self) -> int:
        return len(self.sockets)

    def count_of(self, user_id: int) -> int:
        """Sockets signed in as this user."""
        return sum(1 for socket in self.sockets if socket.user["id"] == user_id)

    def on_revocation(self, text: str) -> None:
        """A user's older tokens were revoked, or the user was deleted (``users.publish_revocation``),
        or one credential was (:func:`revoke_credential`), in this process or another: close the
        sockets concerned now (4401), not at the next re-check."""
        try:
            frame = json.loads(text)
            data = frame["data"]
            if frame.get("type") == "credential.revoked":
                self._close_credential(str(data["credentialId"]))
                return
            user_id = int(data["userId"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable revocation event")
            return
        for socket in list(self.sockets):
            if data.get("deleted"):
                if socket.user["id"] == user_id or socket.target_user_id == user_id:
                    socket.shut(CLOSE_UNAUTHORIZED, "user deleted")
            elif socket.user["id"] == user_id and int(socket.user["token_version"]) < int(data["tokenVersion"]):
                socket.shut(CLOSE_UNAUTHORIZED, "token revoked")

    def _close_credential(self, credential_id: str) -> None:
        for socket in list(self.sockets):
            if socket.user.get("credential_id") == credential_id:
                socket.shut(CLOSE_UNAUTHORIZED, "credential revoked")


def _relay_to(members: set[UserSocket]) -> Callable[[str], None]:
    """The bus subscriber of one channel: frame each event once, write it to every member."""

    def relay(text: str) -> None:
        frame = text_frame(text.encode("utf-8"))
        for socket in tuple(members):  # a socket closed as too slow leaves the set meanwhile
            socket.write_frame(frame, text)

    return relay


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def command_error(exc: ApiError) -> dict[str, Any]:
    """The ``error`` of a refused command's ``reply``: the REST error, and for a 429 (a rate or a
    full queue) ``retryAfter``, the seconds REST sends as ``Retry-After`` (a socket has no headers)."""
    error = exc.to_dict()["error"]
    if exc.status_code == 429:
        error["retryAfter"] = retry_after_seconds(exc.headers.get("Retry-After"))
    return error


def retry_after_seconds(header: str | None) -> int:
    """A ``Retry-After`` header's whole seconds, at least 1 (1 when it is missing or a date)."""
    try:
        return max(1, int(header or ""))
    except ValueError:
        return 1


@read_command
async def _ping(socket: UserSocket, data: dict[str, Any]) -> dict[str, Any]:
    return {"pong": True, "time": iso(time.time())}


class UserSocket(ErrorContract, WebSocketHandler):
    user: dict[str, Any]
    target_user_id: int

    @property
    def app(self) -> WamultiApp:
        return self.settings["wamulti"]

    @property
    def hub(self) -> SocketHub:
        return self.app.state["websocket"]

    # -- before the upgrade ---------------------------------------------
    def origin_allowed(self) -> bool:
        """Same-origin pages and the configured CORS origins; non-browser clients send no Origin.

        Decided in ``prepare`` so that a refusal is answered in the error shape (Tornado's own
        check answers in plain text); ``check_origin`` then agrees with what was decided."""
        origin = self.request.headers.get("Origin")
        if origin is None or self.request.headers.get("Sec-Fetch-Site") in ("same-origin", "none"):
            return True
        if urlsplit(origin).netloc.lower() == self.request.headers.get("Host", "").lower():
            return True
        return origin in self.app.config.server.cors_origins

    def check_origin(self, origin: str) -> bool:
        return True  # prepare() refused every origin origin_allowed() does not allow

    def credential(self) -> str | None:
        """The credential this socket was opened with (also for calls made on its behalf):
        ``?token=`` or ``?api_key=`` (browsers cannot set a socket's headers), else the headers a
        REST call sends (``X-Api-Key``, ``Authorization: Bearer``)."""
        return (
            self.get_query_argument("token", None)
            or self.get_query_argument("api_key", None)
            or request_credential(self.request.headers)
        )

    async def prepare(self) -> None:
        if not self.origin_allowed():
            raise ApiError(403, "This origin may not open the websocket; list it in server.cors_origins.")
        self.user = self.current_user = await authenticate(self.app, self.credential())
        self.target_user_id = int(self.user["id"])
        cap = self.app.config.websocket.max_per_user
        if self.hub.count_of(self.target_user_id) >= cap:
            raise ApiError(429, f"This user has {cap} sockets open already; close one first.",
                           headers={"Retry-After": "5"})
        watched = self.get_query_argument("userId", None)
        if watched is not None:
            if not (watched.isascii() and watched.isdigit()):
                raise ApiError(422, "userId must be a user id.", fields={"userId": ["Not a valid integer."]})
            if int(watched) != self.target_user_id:
                if self.user["role"] != "admin":
                    raise ApiError(403, "Only administrators may watch another user's channel.")
                if await get_user(self.app.db, int(watched)) is None:
                    raise ApiError(404, "No such user.")
                self.target_user_id = int(watched)
        # Built before the upgrade so that `hello` is the first frame the client sees.
        self._hello: dict[str, Any] = {"user": public_user(self.user), "userId": self.target_user_id}
        for extra in await call_hook(self.app.plugins, "ws_hello", app=self.app, user=self.user,
                                     target_user_id=self.target_user_id):
            self._hello.update(extra or {})

    @access.user
    @openapi.doc(
        summary="The user's live channel (websocket)",
        description=(
            "Upgrade to a websocket. Authenticate with `?token=<JWT>` or `?api_key=<key>` (browsers), or "
            "the headers of a REST call (`Authorization: Bearer`, `X-Api-Key`). Frames are JSON `{type, data}`: "
            "the server sends `hello`, `session.status`, `session.qr`, `message`, `message.ack`, `chat`, "
            "`chats.synced`, `reply` and `pong`; the client sends `message.send`, `chats.list`, `messages.list` "
            "and `ping`, each with an optional `ref` echoed in the `reply`; a socket opened with a read-only "
            "API key may send only the commands that read (`ping`, `chats.list`, `messages.list`: any other "
            "is answered 403). An admin may add `?userId=N` to watch another user's channel. "
            "Close codes: 4401 token or API key revoked or user deleted, 1013 the client reads too slowly."
        ),
        query=WsQuerySchema,
        responses={101: "Switching to the websocket protocol."},
        errors={403: "userId names another user and the caller is not an admin.", 404: "No such user (userId)."},
        tags=["websocket"],
    )
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await super().get(*args, **kwargs)

    def get_compression_options(self) -> None:
        return None  # compressing every frame costs more CPU than loopback and LAN bandwidth

    # -- the open socket ------------------------------------------------
    def open(self, *args: Any, **kwargs: Any) -> None:
        cfg = self.app.config.websocket
        self.channel = user_channel(self.target_user_id)
        self._closing = False
        self._queue_size = cfg.queue_size
        # The write of each frame the stream has not handed to the kernel yet, oldest first.
        self._unflushed: deque[asyncio.Future[None]] = deque()
        self._write_raw = raw_frame_writer(self.ws_connection)
        self.hub.sockets.add(self)
        self.send_frame("hello", self._hello)
        self.hub.join(self, self.app.events)
        self._reauth = asyncio.create_task(self._reauth_loop(cfg.reauth_interval))

    @property
    def writes_frames_directly(self) -> bool:
        """Whether frames go straight to the stream (:func:`raw_frame_writer`), not through
        ``write_message``."""
        return self._write_raw is not None

    def write_frame(self, frame: bytes, text: str) -> None:
        """Send one event: ``frame`` is ``text`` framed by :func:`text_frame`. Never blocks.

        The stream writes what the kernel takes at once and keeps the rest in its write buffer.
        Tornado resolves the future of a write once its bytes left that buffer, in order, so the
        futures not yet done are the frames still waiting; when ``websocket.queue_size`` of them
        wait, the client is too slow and is closed with 1013."""
        if self._closing:
            return
        waiting = self._unflushed
        while waiting and waiting[0].done():
            waiting.popleft()
        if len(waiting) >= self._queue_size:
            log.warning("closing a slow websocket of user %s (%d frames unsent)", self.target_user_id, len(waiting))
            self.hub.slow_closed += 1
            self.shut(CLOSE_TOO_SLOW, "too slow: events are not being read")
            return
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            self.shut(None, None)
            return
        try:
            if self._write_raw is not None:
                written = self._write_raw(frame)
            else:
                written = self.write_message(text)
                written.add_done_callback(_retrieve)  # a write cut short by a close is no error
        except (StreamClosedError, WebSocketClosedError):
            self.shut(None, None)
            return
        if written is not None and not written.done():
            waiting.append(written)

    def send_frame(self, type_: str, data: Any) -> None:
        """Send one frame to this socket only (``hello``, a ``reply``)."""
        text = encode(event(type_, data))
        self.write_frame(text_frame(text.encode("utf-8")), text)

    async def _reauth_loop(self, interval: float) -> None:
        """A revoked token or a deleted user closes the socket within ``interval`` seconds."""
        credential = self.credential()
        while True:
            await asyncio.sleep(interval)
            try:
                user = await authenticate(self.app, credential)
                target_exists = user["id"] == self.target_user_id or await get_user(self.app.db, self.target_user_id)
            except ApiError:
                user, target_exists = None, False
            except Exception:  # noqa: BLE001 - a database hiccup is not a revocation
                log.debug("re-authentication check failed", exc_info=True)
                continue
            if user is None or not target_exists or (user["id"] != self.target_user_id and user["role"] != "admin"):
                self.shut(CLOSE_UNAUTHORIZED, "token revoked or user deleted")
                return
            self.user = self.current_user = user

    def on_message(self, message: str | bytes) -> None:
        asyncio.create_task(self._dispatch(message))

    async def _dispatch(self, message: str | bytes) -> None:
        ref = None
        try:
            try:
                frame = json.loads(message)
            except (ValueError, RecursionError):
                raise ApiError(400, "A frame must be a JSON object {type, data, ref}.") from None
            if has_lone_surrogate(frame):
                raise ApiError(400, "A frame must be valid JSON: it holds an unpaired UTF-16 surrogate.")
            if not isinstance(frame, dict):
                raise ApiError(400, "A frame must be a JSON object {type, data, ref}.")
            ref = frame.get("ref")
            if ref is not None and not isinstance(ref, (str, int)):
                ref = None
                raise ApiError(422, "ref must be a string or a number.", fields={"ref": ["Not a string or number."]})
            kind = frame.get("type")
            handler = self.hub.commands.get(kind) if isinstance(kind, str) else None
            if handler is None:
                known = ", ".join(sorted(self.hub.commands))
                raise ApiError(400, f"Unknown command type; use one of: {known}.")
            if self.user.get("read_only") and not is_read_command(handler):
                raise ApiError(403, f"This socket was opened with a read-only API key: it may not send {kind}, "
                                    "only commands that read.")
            data = frame.get("data") or {}
            if not isinstance(data, dict):
                raise ApiError(422, "data must be an object.", fields={"data": ["Not an object."]})
            result = await handler(self, data)
            self.send_frame("reply", {"ref": ref, "ok": True, "data": result})
            if kind == "ping":
                self.send_frame("pong", {"ref": ref})
        except ValidationError as exc:
            self.send_frame("reply", {"ref": ref, "ok": False, "error": error_body(422, fields=exc.messages)["error"]})
        except ApiError as exc:
            self.send_frame("reply", {"ref": ref, "ok": False, "error": command_error(exc)})
        except Exception:  # noqa: BLE001 - answered, logged, socket kept
            log.exception("websocket command failed for user %s", self.target_user_id)
            self.send_frame("reply", {"ref": ref, "ok": False, "error": error_body(500)["error"]})

    def shut(self, code: int | None, reason: str | None) -> None:
        """Stop delivering events and close (with ``code``, unless the client closed first)."""
        if self._closing:
            return
        self._closing = True
        hub: SocketHub | None = self.app.state.get("websocket")  # gone once the server shut down
        if hub is not None:
            hub.leave(self, self.app.events)
            hub.sockets.discard(self)
        self._unflushed.clear()
        if code is not None:
            self.close(code, reason)

    def on_close(self) -> None:
        if not hasattr(self, "_unflushed"):
            return
        self.shut(None, None)
        self._reauth.cancel()


# -- hooks: the core registers this module like any plugin ---------------

@hookimpl
def register_routes(app: Any) -> list:
    return [(r"/ws", UserSocket)]


@hookimpl
async def startup(app: Any) -> None:
    hub = SocketHub()
    for table in await call_hook(app.plugins, "register_ws_commands", app=app):
        hub.commands.update(table or {})
    app.state["websocket"] = hub
    app.events.subscribe(REVOCATIONS, hub.on_revocation)


@hookimpl
def shutdown(app: Any) -> None:
    hub: SocketHub | None = app.state.pop("websocket", None)
    if hub is None:
        return
    if app.events is not None:
        app.events.unsubscribe(REVOCATIONS, hub.on_revocation)
    for socket in list(hub.sockets):
        socket.close(1001, "server shutting down")


@hookimpl
def admin_stats(app: Any) -> dict[str, Any]:
    hub: SocketHub | None = app.state.get("websocket")
    return {"websocket": {"connections": hub.connections if hub else 0}}


class _SocketCollector:
    """The hub's figures, read when Prometheus scrapes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        hub: SocketHub | None = self.app.state.get("websocket")
        yield GaugeMetricFamily("wamulti_websocket_connections", "Open websockets of this process.",
                                value=hub.connections if hub else 0)
        yield CounterMetricFamily("wamulti_websocket_slow_clients_closed",
                                  "Websockets closed with 1013 because the client read too slowly.",
                                  value=hub.slow_closed if hub else 0)


@hookimpl
def register_metrics(app: Any, registry: Any) -> None:
    registry.register(_SocketCollector(app))

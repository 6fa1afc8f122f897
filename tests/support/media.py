"""Helpers for the media tests: real files (PNG, PDF, WAV made by ffmpeg), bodies streamed from
disk, a loopback HTTPS origin with a certificate from a test CA, and files stored the way the
media service stores them."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web
import trustme

from tests.support.files import sha256_of

CHUNK = 64 * 1024


# -- the server's storage ---------------------------------------------------------------------
def media_service(server: Any) -> Any:
    return server.app.state["whatsapp"].media


async def store_downloaded_copy(server: Any, user_id: int, message_id: str, data: bytes, *, mimetype: str,
                                filename: str | None = None, chat: str = "79990000009@c.us") -> Any:
    """A received media message, and its file kept as a downloaded copy: what the media service
    does once WhatsApp delivered the bytes (the download itself needs a session)."""
    from plugins.whatsapp import store

    message = {
        "id": message_id, "chatId": chat, "from": chat, "to": "79990000000@c.us", "body": "", "type": "document",
        "fromMe": False, "ack": 0, "timestamp": 1_700_000_000,
        "media": {"mimetype": mimetype, "filename": filename, "size": len(data)},
    }
    await store.save_message(server.app.db, user_id, message)
    service = media_service(server)
    temp = service.files.new_temp()
    temp.write_bytes(data)
    kept = await service.files.admit(user_id, temp, sha256=sha256_of(data), size=len(data), mimetype=mimetype,
                                     filename=filename, direction="download", message_id=message_id)
    await store.set_media_status(server.app.db, user_id, message_id, "ready")
    return kept


async def save_media_message(server: Any, user_id: int, message_id: str, *, mimetype: str = "image/png") -> None:
    """A received media message whose file is not kept here."""
    from plugins.whatsapp import store

    chat = "79990000009@c.us"
    await store.save_message(server.app.db, user_id, {
        "id": message_id, "chatId": chat, "from": chat, "to": "79990000000@c.us", "body": "", "type": "image",
        "fromMe": False, "ack": 0, "timestamp": 1_700_000_000, "media": {"mimetype": mimetype, "size": 10},
    })


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# -- a loopback HTTPS origin ---------------------------------------------------------------------
@dataclass
class Origin:
    """An HTTPS server on 127.0.0.1 with a certificate of a test CA (``ca_file``).

    ``files[name] = (content type or None, bytes)`` are served at ``/files/<name>``;
    ``/redirect?to=URL`` answers 302; ``/big`` declares a Content-Length of ``big_size``;
    ``/endless`` streams without a Content-Length until the client gives up.
    """

    port: int
    ca_file: Path
    files: dict[str, tuple[str | None, bytes]] = field(default_factory=dict)
    big_size: int = 0

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


class _FileHandler(tornado.web.RequestHandler):
    def get(self, name: str) -> None:
        origin: Origin = self.settings["origin"]
        if name not in origin.files:
            raise tornado.web.HTTPError(404)
        ctype, data = origin.files[name]
        if ctype:
            self.set_header("Content-Type", ctype)
        else:
            self.clear_header("Content-Type")
        self.finish(data)


class _RedirectHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.redirect(self.get_argument("to"), status=302)


class _BigHandler(tornado.web.RequestHandler):
    async def get(self) -> None:
        origin: Origin = self.settings["origin"]
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(origin.big_size))
        sent = 0
        try:
            while sent < origin.big_size:
                block = b"\0" * min(CHUNK, origin.big_size - sent)
                self.write(block)
                await self.flush()
                sent += len(block)
        except tornado.iostream.StreamClosedError:
            return
        self.finish()


class _EndlessHandler(tornado.web.RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        try:
            for _ in range(100_000):  # bounded: 6 GB at most, the client stops long before
                self.write(b"\0" * CHUNK)
                await self.flush()
        except tornado.iostream.StreamClosedError:
            return
        self.finish()


@contextlib.asynccontextmanager
async def https_origin(tmp_path: Path) -> AsyncIterator[Origin]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    ca_file = tmp_path / f"test-ca-{port}.pem"  # each origin its own CA
    ca.cert_pem.write_to_path(str(ca_file))
    origin = Origin(port=port, ca_file=ca_file)
    app = tornado.web.Application([
        (r"/files/(?P<name>[^/]+)", _FileHandler),
        (r"/redirect", _RedirectHandler),
        (r"/big", _BigHandler),
        (r"/endless", _EndlessHandler),
    ], origin=origin)
    server = tornado.httpserver.HTTPServer(app, ssl_options=context)
    server.add_sockets(sockets)
    try:
        yield origin
    finally:
        server.stop()
        await asyncio.wait_for(server.close_all_connections(), 10)


@contextlib.contextmanager
def silent_listener() -> Any:
    """A port on 127.0.0.1 that accepts connections and never says a word; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()

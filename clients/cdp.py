"""pyppeteer 2.0 over Chromium's DevTools pipe, and working around it: calls that must not be
cancelled, futures it drops, frames it would log, and ``exposeFunction``'s unawaited answer."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from pyee import EventEmitter
from pyppeteer import helper
from pyppeteer.browser import Browser
from pyppeteer.connection import Connection, _createProtocolError, _rewriteError
from pyppeteer.errors import NetworkError

log = logging.getLogger(__name__)


def _consume(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


async def uncancelled(awaitable: Any, timeout: float | None = None, track: set | None = None) -> Any:
    """Await a pyppeteer call, with an optional timeout, without ever cancelling it.

    pyppeteer resolves its protocol futures without checking whether they were cancelled: one
    late answer to a call that a timeout (or a cancelled task) gave up on raises inside its
    receive loop and ends the connection. So the call runs on in its own task; we stop waiting.
    """
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(_consume)
    if track is not None:  # calls in flight, which a graceful close lets finish first
        track.add(task)
        task.add_done_callback(track.discard)
    if timeout is None:
        return await asyncio.shield(task)
    return await asyncio.wait_for(asyncio.shield(task), timeout)


class _FrameReader(asyncio.Protocol):
    """The browser's end of the pipe: what it writes, cut into NUL-terminated frames and queued
    in order; ``None`` once the pipe ends (the browser closed it, i.e. exited)."""

    def __init__(self, frames: asyncio.Queue[bytes | None]) -> None:
        self._frames = frames
        self._buffer = bytearray()
        self._ended = False

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        scan = len(buffer)  # a separator can only be in the new data
        buffer += data
        start = 0
        while (end := buffer.find(b"\0", scan)) >= 0:
            self._frames.put_nowait(bytes(buffer[start:end]))
            start = scan = end + 1
        if start:
            del buffer[:start]

    def eof_received(self) -> bool:
        self._end()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._buffer.clear()  # a frame cut off by the exit is never complete
            self._frames.put_nowait(None)


class PipeConnection(Connection):
    """pyppeteer's connection over ``--remote-debugging-pipe`` instead of a DevTools port.

    Chromium reads commands from its fd 3 and writes answers and events to its fd 4, each a JSON
    text ended by a NUL byte; no port is opened, so no other local process can reach the page.
    Everything else is pyppeteer's ``Connection``: its sessions, events, ``dispose()`` and the
    close callback (``Browser`` emits ``disconnected`` from it) when the pipe ends.

    It never logs a frame (they carry the device's keys and message bodies), unlike pyppeteer's
    ``SEND:``/``RECV:`` debug lines. The protections of the old websocket connection stay: a
    failed call whose future nobody awaits (``CDPSession.send`` drops them) is not logged as
    "Future exception was never retrieved", and an answer to a call given up on is ignored
    instead of ending the receive loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Connection.__init__ without its websocket; ``open`` attaches the pipes.
        EventEmitter.__init__(self)
        self._url = "pipe:"
        self._lastId = 0
        self._callbacks: dict[int, asyncio.Future] = {}
        self._delay = 0
        self._loop = loop
        self._sessions: dict[str, Any] = {}
        self._connected = False
        self._closeCallback = None
        self._frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._reader: asyncio.ReadTransport | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._recv_fut: asyncio.Future = loop.create_future()
        self._recv_fut.set_result(None)
        self._disposing: asyncio.Task | None = None
        self.largest_sent = 0  # bytes of the largest frame each way: files must cross in chunks
        self.largest_received = 0

    @classmethod
    async def open(cls, read_fd: int, write_fd: int) -> "PipeConnection":
        """A connection reading the browser's output from ``read_fd`` and writing commands to
        ``write_fd``. It owns both descriptors from the call on: they are closed by ``dispose()``,
        or at once when opening fails."""
        loop = asyncio.get_running_loop()
        self = cls(loop)
        files: list[Any] = []
        try:
            files.append(open(read_fd, "rb", buffering=0))
            files.append(open(write_fd, "wb", buffering=0))
            self._reader, _ = await loop.connect_read_pipe(lambda: _FrameReader(self._frames), files[0])
            self._writer, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, files[1])
        except BaseException:
            self._close_pipes()
            for file in files:
                file.close()
            for fd in (read_fd, write_fd)[len(files):]:
                os.close(fd)
            raise
        self._connected = True
        self._recv_fut = loop.create_task(self._recv_loop())
        return self

    async def _recv_loop(self) -> None:
        while self._connected:
            frame = await self._frames.get()
            if frame is None:
                break
            try:
                self._dispatch(frame)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not end the connection
                log.warning("a DevTools message could not be handled (%s)", type(exc).__name__)
            await asyncio.sleep(0)  # as pyppeteer's loop: whatever a message scheduled runs first
        if self._connected:  # the browser closed its end: it exited
            self._dispose_soon()

    def _dispatch(self, frame: bytes) -> None:
        self.largest_received = max(self.largest_received, len(frame))
        message = json.loads(frame)
        if "id" not in message:
            self._on_query(message)
            return
        callback = self._callbacks.pop(message["id"], None)
        if callback is None or callback.done():
            return
        if message.get("error"):
            callback.set_exception(_createProtocolError(callback.error, callback.method, message))  # type: ignore[attr-defined]
        else:
            callback.set_result(message.get("result"))

    async def _on_message(self, message: str) -> None:
        self._dispatch(message.encode())

    def send(self, method: str, params: dict | None = None) -> asyncio.Future:
        if not self._connected or self._writer is None:
            raise ConnectionError("Connection is closed")
        self._lastId += 1
        callback = self._loop.create_future()
        callback.error = NetworkError()  # type: ignore[attr-defined]
        callback.method = method  # type: ignore[attr-defined]
        callback.add_done_callback(_consume)
        self._callbacks[self._lastId] = callback
        if self._writer.is_closing():  # the browser stopped reading: it is exiting
            self._dispose_soon()
        else:
            data = json.dumps({"id": self._lastId, "method": method, "params": params or {}}).encode() + b"\0"
            self.largest_sent = max(self.largest_sent, len(data))
            self._writer.write(data)
        return callback

    async def _on_close(self) -> None:
        """Connection._on_close, tolerant of futures already done, and closing the pipes."""
        if self._closeCallback:
            close_callback, self._closeCallback = self._closeCallback, None
            close_callback()
        callbacks, self._callbacks = self._callbacks, {}
        for callback in callbacks.values():
            if not callback.done():
                callback.set_exception(_rewriteError(callback.error, f"Protocol error {callback.method}: Target closed."))  # type: ignore[attr-defined]
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            with contextlib.suppress(asyncio.InvalidStateError):
                session._on_closed()
        self._close_pipes()
        if not self._recv_fut.done():
            self._recv_fut.cancel()

    def _close_pipes(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._writer is not None and not self._writer.is_closing():  # abort() is not idempotent
            self._writer.abort()  # commands not written yet are moot

    def _dispose_soon(self) -> None:
        """``dispose()`` from a callback or the receive loop (which dispose() cancels)."""
        if self._disposing is None:
            self._disposing = self._loop.create_task(self.dispose())
            self._disposing.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("closing the DevTools connection failed", exc_info=task.exception())


class _NoFrames(logging.Filter):
    """Drops pyppeteer's ``SEND:``/``RECV:`` debug lines, which hold whole protocol frames."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("SEND: ", "RECV: ")))


for _name in ("pyppeteer.connection.Connection", "pyppeteer.connection.CDPSession"):
    logging.getLogger(_name).addFilter(_NoFrames())


async def connect(connection: PipeConnection) -> Browser:
    """``pyppeteer.connect(defaultViewport=None)`` on an open pipe connection."""
    contexts = (await connection.send("Target.getBrowserContexts")).get("browserContextIds", [])
    return await Browser.create(connection, contexts, False, None, None, lambda: connection.send("Browser.close"))


DELIVER_RESULT_JS = """function deliverResult(name, seq, result) {
  window[name]['callbacks'].get(seq)(result);
  window[name]['callbacks'].delete(seq);
}"""


async def expose_function(page: Any, name: str, callback: Any, alive: Any = lambda: True) -> None:
    """``page.exposeFunction`` (once per page, before navigating: a second registration of a
    name raises), with pyppeteer's delivery of the (empty) result made safe: pyppeteer sends it
    without awaiting, so a page closing meanwhile logs "Future exception was never retrieved"."""
    await uncancelled(page.exposeFunction(name, callback))
    original = page._onBindingCalled

    def on_binding_called(event: dict[str, Any]) -> None:
        try:
            call = json.loads(event["payload"])
        except (KeyError, ValueError):
            return
        if call.get("name") != name:
            original(event)
            return
        try:
            callback(*call.get("args", []))
        except Exception:  # noqa: BLE001
            log.exception("the %s callback failed", name)
        if not alive():  # a closing page: the answer would only fail
            return
        expression = helper.evaluationString(DELIVER_RESULT_JS, name, call.get("seq"), None)
        try:
            sent = page._client.send("Runtime.evaluate", {"expression": expression, "contextId": event["executionContextId"]})
        except Exception:  # noqa: BLE001 - the page is gone
            return
        sent.add_done_callback(lambda f: f.cancelled() or f.exception())

    page._onBindingCalled = on_binding_called

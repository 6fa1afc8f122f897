"""A local HTTP server that receives webhook deliveries: it records every request and answers as
a test tells it to, per path. Plain asyncio streams, one request per connection, so that a test
controls exactly when (and whether) an answer goes out.

``receiver = await Receiver().start()``; ``receiver.url("/a")`` is where to point an endpoint.
By default a path answers 200. ``answer(path, 500, 500)`` answers its next requests with those
statuses, in turn, then the default again; ``always(path, status)`` changes the default (a 3xx
comes with a ``Location``). ``hold(path)`` keeps its requests waiting, unanswered; ``drop(path)``
closes their connections without an answer (their ``status`` stays None) and stops holding.
``endless(path)`` answers 200 with a chunked body that never ends, until the sender hangs up
(``sent`` counts the body's bytes that left, at most :data:`ENDLESS_BOUND`).
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable

MAX_HEAD = 64 * 1024
ENDLESS_BOUND = 256 * 1024 * 1024  # an endless answer stops here if the sender reads on and on


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int | None = None  # what it was answered; None until then, or when it never was
    sent: int = 0  # bytes of the answer's body that left

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Hold:
    released: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._scripts: dict[str, deque[int]] = {}
        self._defaults: dict[str, int] = {}
        self._holds: dict[str, _Hold] = {}
        self._endless: set[str] = set()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self.port: int | None = None

    async def start(self) -> "Receiver":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for path in list(self._holds):
            self.drop(path)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- what to answer ----------------------------------------------------------------------------
    def answer(self, path: str, *statuses: int) -> None:
        self._scripts.setdefault(path, deque()).extend(statuses)

    def always(self, path: str, status: int) -> None:
        self._defaults[path] = status

    def endless(self, path: str) -> None:
        self._endless.add(path)

    def hold(self, path: str) -> None:
        self._holds[path] = _Hold()

    def drop(self, path: str) -> None:
        hold = self._holds.pop(path, None)
        if hold is not None:
            hold.dropped = True
            hold.released.set()

    # -- serving -----------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            record = await self._read(reader)
            if record is None:
                return
            self.requests.append(record)
            hold = self._holds.get(record.path)
            if hold is not None:
                await hold.released.wait()
                if hold.dropped:
                    return
            if record.path in self._endless:
                await self._answer_endlessly(record, writer)
                return
            script = self._scripts.get(record.path)
            status = script.popleft() if script else self._defaults.get(record.path, 200)
            body = b"ok" if status < 300 else b"no"
            head = [f"HTTP/1.1 {status} {_reason(status)}", f"Content-Length: {len(body)}", "Connection: close"]
            if 300 <= status < 400:
                head.append(f"Location: {self.url(record.path + '/moved')}")
            record.status = status  # before the answer leaves: the sender may act on it at once
            try:
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
                await writer.drain()
            except ConnectionError:
                record.status = None
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            self._connections.discard(task)

    @staticmethod
    async def _answer_endlessly(record: Received, writer: asyncio.StreamWriter) -> None:
        record.status = 200
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunk = b"x" * 65536
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while record.sent < ENDLESS_BOUND:
            writer.write(framed)
            await writer.drain()  # ConnectionError once the sender hung up
            record.sent += len(chunk)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received | None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEAD:
            return None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        return Received(parts[1].split("?", 1)[0], headers, body)

    # -- what came ---------------------------------------------------------------------------------
    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def delivered(self, path: str) -> list[Received]:
        """The requests of a path that were answered 2xx, in the order they came."""
        return [r for r in self.at(path) if r.ok]

    async def wait(self, check: Callable[[], Any], timeout: float = 30, message: str = "the deliveries") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                seen = [(r.path, r.status, r.body[:80]) for r in self.requests][-10:]
                raise AssertionError(f"timed out waiting for {message}; last requests: {seen}")
            await asyncio.sleep(0.05)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"

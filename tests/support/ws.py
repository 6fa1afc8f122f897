"""Websocket clients of the real server: frames read into a queue, commands with their replies."""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.support.server import bearer


class Client:
    """A websocket client that reads frames into a queue (``next``, ``next_of``), keeps every frame
    it saw (``expect`` searches them), and routes each ``reply`` to the command that waits for it,
    so that commands may run concurrently."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.frames: asyncio.Queue[dict | None] = asyncio.Queue()
        self.history: list[dict] = []
        self._arrived = asyncio.Event()
        self._replies: dict[Any, asyncio.Future] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.conn.read_message()
            if message is None:
                await self.frames.put(None)
                self._arrived.set()
                return
            frame = json.loads(message)
            self.history.append(frame)
            self._arrived.set()
            if frame.get("type") == "reply":
                waiter = self._replies.pop((frame.get("data") or {}).get("ref"), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame["data"])
                    continue
            await self.frames.put(frame)

    async def expect(self, type_: str, check: Any = lambda data: True, timeout: float = 20) -> dict:
        """The ``data`` of the first frame of ``type_`` this socket received (before or after the
        call) that passes ``check``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for frame in self.history[seen:]:
                if frame.get("type") == type_ and check(frame.get("data")):
                    return frame["data"]
            seen = len(self.history)
            self._arrived.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {type_} frame passed the check within {timeout}s")
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def next(self, timeout: float = 10) -> dict | None:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def next_of(self, type_: str, timeout: float = 10) -> dict:
        while True:
            frame = await self.next(timeout)
            assert frame is not None, f"socket closed while waiting for {type_}"
            if frame["type"] == type_:
                return frame

    def send(self, obj: Any) -> None:
        self.conn.write_message(obj if isinstance(obj, str) else json.dumps(obj))

    async def command(self, type_: str, data: dict | None = None, ref: str | None = None, timeout: float = 60) -> dict:
        """Send a command and return its reply's ``data`` (``{ref, ok, data | error}``)."""
        ref = ref or uuid.uuid4().hex[:8]
        waiter = self._replies[ref] = asyncio.get_running_loop().create_future()
        self.send({"type": type_, "data": data or {}, "ref": ref})
        try:
            return await asyncio.wait_for(waiter, timeout)
        finally:
            self._replies.pop(ref, None)

    def close(self) -> None:
        self.conn.close()
        self._reader.cancel()


async def connect(server, token: str | None = None, *, query: str = "", header: bool = False) -> Client:
    url = server.ws_url + "?" + query
    headers = {}
    if token and header:
        headers = bearer(token)
    elif token:
        url += f"&token={token}"
    conn = await websocket_connect(HTTPRequest(url, headers=headers))
    return Client(conn)


@pytest.fixture
async def clients():
    opened: list[Client] = []
    yield opened
    for client in opened:
        client.close()

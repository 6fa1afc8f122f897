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
    """A websocket client that reads frames into a queue."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.frames: asyncio.Queue[dict | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            message = await self.conn.read_message()
            if message is None:
                await self.frames.put(None)
                return
            await self.frames.put(json.loads(message))

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

    async def command(self, type_: str, data: dict | None = None, ref: str | None = None) -> dict:
        ref = ref or uuid.uuid4().hex[:8]
        self.send({"type": type_, "data": data or {}, "ref": ref})
        while True:
            frame = await self.next_of("reply")
            if frame["data"]["ref"] == ref:
                return frame["data"]

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

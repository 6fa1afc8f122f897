"""A page of the simulator reduced to its websocket protocol (tests/fakewa/session.py), to run
many devices without Chromium, or to drive the protocol frame by frame. Holds no tests itself."""
from __future__ import annotations

import asyncio
import base64
import json
import secrets
from typing import Any

from tornado.websocket import websocket_connect


class ProtocolPage:
    """A page reduced to its websocket protocol (session.py), to run many devices without Chromium."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http://", "ws://") + "ws/chat"
        self.keys = {k: base64.b64encode(secrets.token_bytes(32)).decode() for k in ("static", "identity", "adv")}
        self.cred: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self.confirm = True
        self.synced: dict[str, Any] | None = None  # the last sync frame

    async def connect(self) -> None:
        self.ws = await websocket_connect(self.ws_url)
        self.send({"type": "hello", "cred": self.cred, "keys": None if self.cred else self.keys})

    def send(self, message: dict[str, Any]) -> None:
        self.ws.write_message(json.dumps(message))

    async def expect(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """Read frames until one of type ``kind``; events on the way are kept (and confirmed)."""
        while True:
            raw = await asyncio.wait_for(self.ws.read_message(), timeout)
            assert raw is not None, f"socket closed while waiting for {kind}"
            frame = json.loads(raw)
            if frame["type"] == "event":
                self.events.append(frame)
                if self.confirm:
                    self.send({"type": "received", "seq": frame["seq"]})
            if frame["type"] == kind:
                return frame

    async def link(self, control: Any, phone: str) -> None:
        await self.connect()
        ref = (await self.expect("ref"))["ref"]
        qr = ",".join([ref, self.keys["static"], self.keys["identity"], self.keys["adv"], "WEB"])
        await control.scan(qr, phone)
        self.cred = (await self.expect("paired"))["cred"]
        self.send({"type": "login", "cred": self.cred})
        self.synced = await self.expect("sync")

    def bodies(self) -> list[str]:
        return [e["data"]["msg"]["body"] for e in self.events if e["kind"] == "msg"]

    async def result(self, rid: int, timeout: float = 10.0) -> dict[str, Any]:
        """The server's answer to the action frame numbered ``rid``."""
        while True:
            frame = await self.expect("result", timeout)
            if frame["rid"] == rid:
                return frame

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The data of the events of one kind received so far."""
        return [e["data"] for e in self.events if e["kind"] == kind]

    async def until(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Read frames until ``count`` events of ``kind`` arrived; their data."""
        while len(self.of(kind)) < count:
            await self.expect("event", timeout)
        return self.of(kind)

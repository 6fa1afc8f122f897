"""The websocket fan-out's write path (server/ws.py): an event is framed once and the same bytes go
to every socket of the channel; a client that does not read is still closed with 1013. Read here
at the byte level, by a websocket client made of a plain TCP socket."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from dataclasses import dataclass

from tornado.websocket import websocket_connect

from server.events import encode, event, user_channel
from server.ws import raw_frame_writer
from tests.support.ws import connect

TEXT, CLOSE = 0x1, 0x8


@dataclass
class Frame:
    raw: bytes  # the frame's bytes as they came on the wire, header included
    opcode: int
    masked: bool
    payload: bytes


class RawSocket:
    """A websocket client on a bare TCP connection that hands over each frame's exact bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, token: str, receive_buffer: int | None = None) -> RawSocket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # a small window: the server's writes back up sooner
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 101 "), head
        return cls(reader, writer)

    async def frame(self, timeout: float = 10) -> Frame:
        async def read() -> Frame:
            start = await self.reader.readexactly(2)
            size, extra = start[1] & 0x7F, b""
            if size == 126:
                extra = await self.reader.readexactly(2)
                size = struct.unpack("!H", extra)[0]
            elif size == 127:
                extra = await self.reader.readexactly(8)
                size = struct.unpack("!Q", extra)[0]
            payload = await self.reader.readexactly(size)
            return Frame(start + extra + payload, start[0] & 0x0F, bool(start[1] & 0x80), payload)

        return await asyncio.wait_for(read(), timeout)

    async def frame_of(self, type_: str) -> Frame:
        while True:
            frame = await self.frame()
            if frame.opcode == TEXT and json.loads(frame.payload)["type"] == type_:
                return frame

    def close(self) -> None:
        self.writer.close()


async def test_every_socket_of_a_channel_gets_the_same_frame_bytes(server, clients):
    token, user = await server.register("samebytes")
    raws = [await RawSocket.open(server.app.port, token) for _ in range(4)]
    tornado_client = await connect(server, token)
    clients.append(tornado_client)
    try:
        for raw in raws:
            await raw.frame_of("hello")
        await tornado_client.next_of("hello")
        hub = server.app.state["websocket"]
        assert all(socket_.writes_frames_directly for socket_ in hub.sockets), "the frames went the slow way"
        events = [
            event("message", {"n": 0, "body": "short"}),  # a 7-bit length
            event("message", {"n": 1, "body": "é漢😀 " * 300}),  # a 16-bit length, not ASCII
            event("message", {"n": 2, "body": "x" * 70_000}),  # a 64-bit length
        ]
        for published in events:
            await server.app.events.publish(user_channel(user["id"]), published)
        received = [[await raw.frame_of("message") for _ in events] for raw in raws]
        for frames in received:
            assert [f.raw for f in frames] == [f.raw for f in received[0]]  # byte for byte, on every socket
            for frame, published in zip(frames, events):
                assert frame.raw[0] == 0x81 and not frame.masked  # FIN, text, unmasked as a server sends
                assert frame.payload == encode(published).encode("utf-8")
        for published in events:  # and a standard client reads the same frames
            assert await tornado_client.next() == published
    finally:
        for raw in raws:
            raw.close()


async def test_a_socket_that_never_reads_is_closed_with_1013_while_the_others_get_everything(make_server, clients):
    server = await make_server(websocket={"queue_size": 8})
    token, user = await server.register("neverreads")
    hub = server.app.state["websocket"]
    fast = await connect(server, token)
    clients.append(fast)
    await fast.next_of("hello")
    slow = await RawSocket.open(server.app.port, token, receive_buffer=4096)
    try:
        while hub.connections < 2:
            await asyncio.sleep(0.01)
        pad = "y" * 32_000
        sent = 0
        while hub.connections == 2 and sent < 2000:
            await server.app.events.publish(user_channel(user["id"]), event("message", {"n": sent, "pad": pad}))
            assert (await fast.next())["data"]["n"] == sent
            sent += 1
        assert hub.connections == 1, f"the socket that never reads was still open after {sent} events"
        assert hub.slow_closed == 1
        # What it was sent comes first, in order, then the close frame with 1013.
        seen = []
        while (frame := await slow.frame()).opcode != CLOSE:
            data = json.loads(frame.payload)
            if data["type"] == "message":
                seen.append(data["data"]["n"])
        assert struct.unpack("!H", frame.payload[:2])[0] == 1013
        assert seen == list(range(len(seen))) and 0 < len(seen) < sent
        for n in range(sent, sent + 5):  # the others go on
            await server.app.events.publish(user_channel(user["id"]), event("message", {"n": n}))
            assert (await fast.next())["data"]["n"] == n
    finally:
        slow.close()


async def test_a_connection_that_masks_or_compresses_is_never_written_to_directly(server):
    """The direct write is only for a server side connection as Tornado makes it; a client's
    connection (it masks its frames) falls back to write_message."""
    token, _ = await server.register("masking")
    conn = await websocket_connect(server.ws_url + f"?token={token}")
    try:
        assert conn.protocol.mask_outgoing and raw_frame_writer(conn.protocol) is None
        assert raw_frame_writer(None) is None
    finally:
        conn.close()

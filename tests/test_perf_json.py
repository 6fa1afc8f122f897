"""Answers and event frames encoded by orjson (server/fastjson.py) are the bytes json.dumps gave:
compact, non-ASCII written as UTF-8 (readable, not ``\\u`` escapes), the same field names, and
datetimes as ``str()`` wrote them."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from tornado.websocket import websocket_connect

from server.events import event, user_channel
from tests.support.server import bearer

NAME = 'Tasse «é漢😀» "quoted" \\ back'


def old_dumps(obj) -> bytes:
    """What every answer was before orjson."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


async def test_a_rest_answer_is_the_text_json_dumps_gave(server):
    token, _ = await server.admin()
    created = await server.client.post("/api/products", headers=bearer(token),
                                       json={"name": NAME, "description": "Zeile\nzwei\ttab", "price": "4.50"})
    assert created.status_code == 201, created.text
    for answer in (created, await server.client.get("/api/products"),
                   await server.client.get("/api/products", headers=bearer(token))):
        assert answer.status_code in (200, 201), answer.text
        assert answer.content == old_dumps(answer.json())  # compact, same keys in the same order
        assert NAME.encode("utf-8")[:8] in answer.content and "漢😀".encode() in answer.content
        assert b"\\u" not in answer.content
    assert set(created.json()) >= {"id", "name", "description", "price", "created_at", "updated_at"}


async def test_an_event_frame_is_the_text_json_dumps_gave(server):
    token, user = await server.register("jsonframes")
    conn = await websocket_connect(server.ws_url + f"?token={token}")
    try:
        assert json.loads(await conn.read_message())["type"] == "hello"
        data = {"body": NAME, "at": datetime(2026, 1, 2, 3, 4, 5), "price": Decimal("4.50"), 7: "int key"}
        await server.app.events.publish(user_channel(user["id"]), event("message", data))
        raw = await conn.read_message()  # the frame's text as it came, before any parsing
        assert raw.encode("utf-8") == old_dumps({"type": "message", "data": data})
        assert '"at":"2026-01-02 03:04:05"' in raw and '"7":"int key"' in raw and "漢😀" in raw
    finally:
        conn.close()

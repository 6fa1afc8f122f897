"""Plugins that hear WhatsApp: every event once stored (``whatsapp_event``), in the storing
transaction (``whatsapp_event_stored``), and the send API (``server.whatsapp_api``), with a real
session in Chromium and the simulator. A failing or slow plugin holds up nothing else."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server import hookimpl
from server.whatsapp_api import whatsapp
from tests.support.server import bearer
from tests.support.whatsapp import link, wa_config, wait_for
from tests.support.ws import connect

pytestmark = pytest.mark.browser

ME, CONTACT = "79996660001", "79996660002"


class Recorder:
    """Hears every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[int, dict]] = []

    @hookimpl
    async def whatsapp_event(self, app, user_id, event):
        self.events.append((user_id, event))

    def messages(self, body: str) -> list[dict]:
        return [e["data"] for _, e in self.events if e["type"] == "message" and e["data"]["body"] == body]


class Broken:
    """Raises on every event."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def whatsapp_event(self, app, user_id, event):
        self.calls += 1
        raise RuntimeError("this plugin is broken")


class Slow:
    """Blocks on its first event until the test lets it go."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.done = 0

    @hookimpl
    async def whatsapp_event(self, app, user_id, event):
        self.entered.set()
        await self.release.wait()
        self.done += 1


class Echo:
    """A bot: answers "ping" with "pong" through the send API, and must not answer itself."""

    def __init__(self) -> None:
        self.seen: list[dict] = []

    @hookimpl
    async def whatsapp_event(self, app, user_id, event):
        data = event["data"]
        if event["type"] != "message":
            return
        self.seen.append(data)
        if data["sentBy"] == "plugin:echo":
            return
        if data["body"] in ("ping", "pong"):
            await whatsapp(app).send_text(user_id, data["chatId"], "pong", reply_to=data["id"], plugin="echo")


class Outbox:
    """Writes a row for every message event in the transaction that stores the message."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on

    @hookimpl
    async def whatsapp_event_stored(self, app, tx, user_id, event):
        if event["type"] != "message":
            return
        if event["data"]["body"] == self.fail_on:
            raise RuntimeError("the outbox refuses this one")
        await tx.execute("INSERT INTO test_outbox (user_id, message_id) VALUES (?, ?)", (user_id, event["data"]["id"]))


async def linked(make_server, fakewa, plugins: list[Any], **config: Any) -> tuple[Any, str, int]:
    server = await make_server(plugins=plugins, **wa_config(fakewa, **config))
    token, user = await server.register()
    await link(server, fakewa, token, user["id"], ME, "Me")
    return server, token, user["id"]


async def test_a_plugin_hears_every_event_and_a_failing_one_breaks_nothing(make_server, fakewa, clients):
    recorder, broken = Recorder(), Broken()
    server, token, uid = await linked(make_server, fakewa, [broken, recorder])
    socket = await connect(server, token)
    clients.append(socket)
    await fakewa.incoming(ME, CONTACT, "hello plugins")
    heard = await wait_for(lambda: _first(recorder.messages("hello plugins")), message="the plugin hears the message")
    frame = await socket.expect("message", lambda d: d["body"] == "hello plugins")
    assert heard == frame  # exactly the websocket's frame
    assert heard["sentBy"] is None and heard["fromMe"] is False
    assert any(e["type"] == "session.status" for _, e in recorder.events)
    assert broken.calls > 0
    sent = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": CONTACT, "message": "still sending"})
    assert sent.status_code == 201 and sent.json()["sentBy"] == "user"
    out = await wait_for(lambda: _first(recorder.messages("still sending")), message="the plugin hears the send")
    assert out["sentBy"] == "user" and out["fromMe"] is True
    stats = server.app.state["whatsapp"].plugin_events.stats()
    assert stats[server.app.plugins.get_name(broken)]["failed"] == broken.calls


async def test_a_slow_plugin_does_not_hold_up_the_websocket(make_server, fakewa, clients):
    slow, recorder = Slow(), Recorder()
    server, token, uid = await linked(make_server, fakewa, [slow, recorder], plugin_queue_size=3)
    socket = await connect(server, token)
    clients.append(socket)
    await asyncio.wait_for(slow.entered.wait(), 30)  # stuck in its first event from now on
    for n in range(6):
        await fakewa.incoming(ME, CONTACT, f"while slow {n}")
    for n in range(6):
        await socket.expect("message", lambda d, n=n: d["body"] == f"while slow {n}")
    await wait_for(lambda: _first(recorder.messages("while slow 5")), message="the other plugin hears all")
    assert slow.done == 0  # every frame came while the slow hook had not returned
    stats = server.app.state["whatsapp"].plugin_events.stats()[server.app.plugins.get_name(slow)]
    assert stats["waiting"] == 3 and stats["dropped"] >= 3  # its queue is full; what overflowed is counted
    slow.release.set()


async def test_a_bot_sends_through_the_api_and_never_answers_itself(make_server, fakewa):
    echo = Echo()
    server, token, uid = await linked(make_server, fakewa, [echo])
    await fakewa.incoming(ME, CONTACT, "ping")
    pong = await wait_for(lambda: _first([d for d in echo.seen if d["body"] == "pong"]), message="the bot's answer")
    assert pong["sentBy"] == "plugin:echo" and pong["fromMe"] and pong["quotedId"]
    at_phone = await wait_for(lambda: _bodies(fakewa, CONTACT, "pong"), message="pong at the phone")
    await asyncio.sleep(1.0)  # were it to answer itself, more pongs would be on their way
    assert len(await _bodies(fakewa, CONTACT, "pong")) == len(at_phone) == 1
    listed = (await server.client.get(f"/api/whatsapp/messages/{uid}/{pong['id']}", headers=bearer(token))).json()
    assert listed["sentBy"] == "plugin:echo"
    with pytest.raises(ValueError):
        await whatsapp(server.app).send_text(uid, CONTACT, "x", plugin="not a name!")


async def test_an_outbox_is_written_with_the_change_or_not_at_all(make_server, fakewa, db_url):
    outbox = Outbox(fail_on="refused by the outbox")
    server = await make_server(plugins=[outbox], **wa_config(fakewa))
    await server.app.db.execute("CREATE TABLE test_outbox (user_id INTEGER NOT NULL, message_id VARCHAR(191) NOT NULL)")
    token, user = await server.register()
    await link(server, fakewa, token, user["id"], ME, "Me")
    await fakewa.incoming(ME, CONTACT, "kept")
    kept = await wait_for(lambda: _stored(server, "kept"), message="the message stored")
    rows = await server.app.db.fetch_all("SELECT message_id FROM test_outbox")
    assert kept["wa_id"] in [r["message_id"] for r in rows]
    await fakewa.incoming(ME, CONTACT, "refused by the outbox")
    await fakewa.incoming(ME, CONTACT, "after it")
    await wait_for(lambda: _stored(server, "after it"), message="the next message stored")
    assert await _stored(server, "refused by the outbox") is None  # rolled back with its outbox row
    assert await server.app.db.fetch_value("SELECT COUNT(*) FROM test_outbox") == await server.app.db.fetch_value(
        "SELECT COUNT(*) FROM messages WHERE user_id = ?", (user["id"],))


async def _first(items: list) -> Any:
    return items[0] if items else None


async def _bodies(fakewa: Any, phone: str, body: str) -> list[dict]:
    return [m for m in await fakewa.messages(phone) if m["body"] == body]


async def _stored(server: Any, body: str) -> dict | None:
    return await server.app.db.fetch_one("SELECT wa_id FROM messages WHERE body = ?", (body,))

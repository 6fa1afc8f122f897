"""Messages through the simulator: incoming, sent with acks and read receipts, between two linked
devices, and kept for a device that is offline."""
from __future__ import annotations

import pytest

from tests.fakewa.probe import (
    device_online, evaluate, eventually, link_page, open_wa, probe_log, send_text, wait_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

ALICE, BOB, CAROL = "79990000001", "79990000002", "79990000003"


async def new_messages(page) -> list[dict]:
    return [e["msg"] for e in await probe_log(page, "msg") if e["msg"]["isNewMsg"]]


async def acks(page, serialized_id: str) -> list[int]:
    return [e["value"] for e in await probe_log(page, "ack") if e["id"] == serialized_id]


async def test_incoming_messages_arrive_as_new_with_their_chat(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE, "Alice")

    sent = await fakewa.incoming(ALICE, BOB, "hello Alice", pushname="Bob")
    await fakewa.incoming(ALICE, BOB, "are you there?")
    await wait_for(page, "window.__probe.filter((e) => e.ev === 'msg').length === 2")

    [chat_added] = [e["chat"] for e in await probe_log(page, "chat")]
    assert chat_added["id"]["_serialized"] == f"{BOB}@c.us" and chat_added["name"] == "Bob"
    first, second = await new_messages(page)
    assert first["id"]["_serialized"] == sent["id"]["_serialized"] == f"false_{BOB}@c.us_{sent['id']['id']}"
    assert first["id"]["fromMe"] is False and first["id"]["remote"]["_serialized"] == f"{BOB}@c.us"
    assert (first["body"], first["type"], first["from"]["_serialized"], first["to"]["_serialized"]) == (
        "hello Alice", "chat", f"{BOB}@c.us", f"{ALICE}@c.us")
    assert isinstance(first["t"], int) and second["body"] == "are you there?"
    assert [e["value"] for e in await probe_log(page, "unread")] == [1, 2]
    in_chat = await evaluate(page, f"require('WAWebCollections').Chat.get('{BOB}@c.us').msgs.length")
    assert in_chat == 2


async def test_a_sent_message_is_acked_delivered_then_read(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)

    msg = await send_text(page, f"{BOB}@c.us", "hi Bob")
    key = msg["id"]["_serialized"]
    assert msg["ack"] == 0 and msg["isNewMsg"] is True and msg["id"]["fromMe"] is True
    assert key.startswith(f"true_{BOB}@c.us_3EB0")
    await wait_for(page, f"require('WAWebCollections').Msg.get('{key}').ack === 2")
    assert await acks(page, key) == [1, 2]
    assert await evaluate(page, f"window.__sent['{key}'].messageSendResult") == "OK"

    [received] = await fakewa.messages(BOB)
    assert (received["body"], received["id"]["fromMe"], received["ack"]) == ("hi Bob", False, 2)
    assert received["id"]["id"] == msg["id"]["id"]

    assert await fakewa.read(BOB, f"{ALICE}@c.us") == 1
    await wait_for(page, f"require('WAWebCollections').Msg.get('{key}').ack === 3")
    assert await acks(page, key) == [1, 2, 3]
    assert [m["ack"] for m in await fakewa.messages(ALICE)] == [3]


async def test_two_linked_devices_message_each_other(fakewa, launch_browser):
    alice = await open_wa(launch_browser, fakewa.url)
    bob = await open_wa(launch_browser, fakewa.url)
    await link_page(alice, fakewa, ALICE, "Alice")
    await link_page(bob, fakewa, BOB, "Bob")

    sent = await send_text(alice, f"{BOB}@c.us", "ping")
    await wait_for(bob, "window.__probe.some((e) => e.ev === 'msg' && e.msg.body === 'ping')")
    [arrived] = await new_messages(bob)
    assert arrived["id"]["id"] == sent["id"]["id"] and arrived["id"]["fromMe"] is False
    assert arrived["from"]["_serialized"] == f"{ALICE}@c.us"
    assert await evaluate(bob, f"require('WAWebCollections').Chat.get('{ALICE}@c.us').name") == "Alice"

    # Bob reads it on his device (the site's sendSeen): Alice sees the blue ticks.
    await bob.evaluate(f"() => require('WAWebUpdateUnreadChatAction').sendSeen("
                       f"{{chat: require('WAWebCollections').Chat.get('{ALICE}@c.us')}})")
    await wait_for(alice, f"require('WAWebCollections').Msg.get('{sent['id']['_serialized']}').ack === 3")

    await send_text(bob, f"{ALICE}@c.us", "pong")
    await wait_for(alice, "window.__probe.some((e) => e.ev === 'msg' && e.msg.body === 'pong')")
    assert [m["body"] for m in await new_messages(alice)] == ["ping", "pong"]


async def test_an_offline_device_gets_every_message_when_it_comes_back(fakewa, launch_browser, tmp_path):
    profile = tmp_path / "alice"
    page = await open_wa(launch_browser, fakewa.url, profile)
    linked = await link_page(page, fakewa, ALICE)
    await fakewa.incoming(ALICE, BOB, "before closing")
    await wait_for(page, "window.__probe.some((e) => e.ev === 'msg')")
    await launch_browser.close(page.browser)
    await eventually(lambda: offline(fakewa, linked["device"]), what="the device to go offline")

    bodies = [f"offline {i}" for i in range(25)]
    for i, body in enumerate(bodies):
        await fakewa.incoming(ALICE, CAROL if i % 2 else BOB, body)
    [device] = await eventually(lambda: pending_devices(fakewa, 25), what="25 pending events")
    assert device["online"] is False

    page = await open_wa(launch_browser, fakewa.url, profile)
    await wait_for(page, "window.__probe.filter((e) => e.ev === 'msg' && e.msg.isNewMsg).length >= 25")
    assert [m["body"] for m in await new_messages(page)] == bodies
    old = [e["msg"]["body"] for e in await probe_log(page, "msg") if not e["msg"]["isNewMsg"]]
    assert old == ["before closing"]  # history comes with the sync, not as new
    assert await evaluate(page, "require('WAWebCollections').Msg.length") == 26
    await eventually(lambda: pending_devices(fakewa, 0), what="the outbox to empty")


async def offline(fakewa, device_id: str) -> bool:
    return not await device_online(fakewa, device_id)


async def pending_devices(fakewa, count: int) -> list[dict]:
    devices = await fakewa.devices()
    return devices if [d["pending"] for d in devices] == [count] else []

"""Live WhatsApp events on /ws, and sending through the socket."""
from __future__ import annotations

import asyncio

from tests.support.ws import connect
from tests.support.whatsapp import link, messages, wa_config

PHONE, FRIEND = "79990000101", "79990000102"


async def test_incoming_messages_acks_and_sends_flow_over_the_socket(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("socketeer")
    other_token, _ = await server.register("bystander")
    client = await connect(server, token)
    bystander = await connect(server, other_token)
    try:
        hello = await client.next_of("hello")
        assert hello["data"]["session"]["state"] == "STOPPED"
        await link(server, fakewa, token, user["id"], PHONE, "Socket")
        status = await client.next_of("session.status")
        assert status["data"]["userId"] == user["id"]

        await fakewa.incoming(PHONE, FRIEND, "ping from a friend")
        frame = await client.next_of("message")
        assert frame["data"]["body"] == "ping from a friend" and frame["data"]["chatId"] == f"{FRIEND}@c.us"

        reply = await client.command("message.send", {"to": FRIEND, "message": "over the socket"})
        assert reply["ok"] is True, reply
        sent = reply["data"]
        assert sent["body"] == "over the socket" and sent["fromMe"] is True
        acks = set()
        while 2 not in acks:
            ack = await client.next_of("message.ack")
            if ack["data"]["id"] == sent["id"]:
                acks.add(ack["data"]["ack"])
        stored = await messages(server, token, user["id"], f"{FRIEND}@c.us")
        assert [m["id"] for m in stored if m["id"] == sent["id"]] == [sent["id"]]

        listed = await client.command("messages.list", {"chatId": f"{FRIEND}@c.us"})
        assert listed["ok"] and {m["body"] for m in listed["data"]["items"]} >= {"ping from a friend", "over the socket"}
        chats = await client.command("chats.list")
        assert f"{FRIEND}@c.us" in [c["id"] for c in chats["data"]["items"]]

        bad = await client.command("message.send", {"to": "not a number", "message": "x"})
        assert bad["ok"] is False and bad["error"]["code"] == "validation_failed" and "to" in bad["error"]["fields"]

        # The bystander saw none of it: its first frame after hello answers its own ping.
        await bystander.next_of("hello")
        bystander.send({"type": "ping", "ref": "b"})
        assert (await bystander.next())["type"] == "reply"
    finally:
        client.close()
        bystander.close()


async def test_a_send_refused_for_a_full_queue_tells_the_socket_when_to_retry(make_server, fakewa):
    """REST answers a full send queue 429 with Retry-After; a socket has no headers, so the
    command's error carries ``retryAfter`` (docs/websocket.md)."""
    server = await make_server(**wa_config(fakewa, send_queue=2,
                                           send_rate={"per_minute": 30, "burst": 1, "jitter_seconds": 0}))
    token, user = await server.register("hurried")
    client = await connect(server, token)
    try:
        await client.next_of("hello")
        await link(server, fakewa, token, user["id"], "79990000111", "Hurried")
        replies = await asyncio.gather(*(
            client.command("message.send", {"to": FRIEND, "message": f"q{n}"}) for n in range(8)))
        refused = [r for r in replies if not r["ok"]]
        assert refused and len(refused) < 8, replies
        for reply in refused:
            error = reply["error"]
            assert error["status"] == 429 and error["code"] == "rate_limited", error
            assert isinstance(error["retryAfter"], int) and 1 <= error["retryAfter"] <= 60, error
        accepted = [r for r in replies if r["ok"]]
        assert all("retryAfter" not in r for r in accepted)
    finally:
        client.close()

"""Rich messaging end to end, on both databases: the server's REST and websocket API, a real
session in Chromium, and the simulator playing the phones. Sends leave in order; media goes out
and comes in byte for byte; replies, reactions, edits, deletes, locations and read receipts reach
the phone and come back as frames."""
from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from tests.support.files import b64, file_chunks, make_wav, ogg_opus, png_bytes, random_file, sha256_hex
from tests.support.server import assert_error, bearer
from tests.support.whatsapp import link, messages, wa_config, wait_for
from tests.support.ws import Client, connect

pytestmark = pytest.mark.browser

ALICE, BOB = "79995550001", "79995550002"
BOB_CHAT = f"{BOB}@c.us"


def stanza(message_id: str) -> str:
    """The id part of a message id (``true_79..@c.us_3EB0..`` → ``3EB0..``), as both sides share it."""
    return message_id.rsplit("_", 1)[-1]


async def at_phone(fakewa: Any, phone: str, message_id: str, check: Any = lambda m: True, what: str = "the message") -> dict:
    """The message as ``phone`` lists it, once ``check`` holds."""
    async def find() -> dict | None:
        for m in await fakewa.messages(phone):
            if m["id"]["id"] == stanza(message_id) and check(m):
                return m
        return None

    return await wait_for(find, timeout=30, message=f"{what} at the phone")


async def frame(client: Client, type_: str, check: Any = lambda d: True, timeout: float = 20) -> dict:
    """A frame of ``type_`` (received before or after the call) whose data passes ``check``."""
    return await client.expect(type_, check, timeout)


@pytest.fixture
async def alice(make_server, fakewa, clients, tmp_path):
    """A server whose user Alice is linked as phone ALICE, with a socket on her channel."""
    server = await make_server(**wa_config(fakewa, send_rate={"per_minute": 6000, "burst": 100, "jitter_seconds": 0.05}))
    token, user = await server.register("alice")
    await link(server, fakewa, token, user["id"], ALICE, "Alice")
    socket = await connect(server, token)
    clients.append(socket)
    await socket.next_of("hello")

    class World:
        pass

    world = World()
    world.server, world.token, world.uid, world.socket, world.fakewa, world.tmp = server, token, user["id"], socket, fakewa, tmp_path
    return world


async def send(world: Any, **body: Any) -> dict:
    response = await world.server.client.post(f"/api/whatsapp/send/{world.uid}", headers=bearer(world.token), json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(world: Any, data: bytes, content_type: str, filename: str) -> dict:
    response = await world.server.client.post(
        f"/api/whatsapp/media/{world.uid}", params={"filename": filename}, content=data,
        headers={**bearer(world.token), "Content-Type": content_type})
    assert response.status_code == 201, response.text
    return response.json()


# -- order ---------------------------------------------------------------------------------------
async def test_thirty_sends_over_rest_and_the_websocket_leave_in_order(alice):
    """Sent back to back without waiting for answers, alternating REST and the websocket, with a
    random pause before each send: the phone gets them in the order the server took them. (The
    next one goes as soon as the server has taken the last one into its queue, so the order the
    server took them in is the order they were sent.)"""
    queues = alice.server.app.state["whatsapp"].queues
    tasks = []
    for n in range(30):
        taken = queues.accepted
        if n % 2:
            tasks.append(asyncio.create_task(alice.socket.command("message.send", {"to": BOB, "message": f"#{n}"})))
        else:
            tasks.append(asyncio.create_task(send(alice, to=BOB, message=f"#{n}")))
        await wait_for(lambda: _taken(queues, taken), interval=0.005, message=f"#{n} taken")
    answers = await asyncio.gather(*tasks)
    sent = [a["data"] if "ref" in a else a for a in answers]
    assert all(a.get("ok", True) for a in answers)
    assert [m["body"] for m in sent] == [f"#{n}" for n in range(30)]
    received = await wait_for(lambda: _bodies_at(alice.fakewa, BOB, 30), timeout=60, message="30 messages at the phone")
    assert received == [f"#{n}" for n in range(30)]
    stored = await messages(alice.server, alice.token, alice.uid, BOB_CHAT)
    assert [m["body"] for m in reversed(stored)] == [f"#{n}" for n in range(30)]


async def test_a_send_repeated_with_its_client_id_goes_once(alice):
    """A client that lost the answer retries with the same clientId, over REST or the socket,
    while the first is in flight or after: one message leaves, and every answer names it."""
    body = {"to": BOB, "message": "exactly once", "clientId": "page-7f3a"}
    first, again, by_socket = await asyncio.gather(
        send(alice, **body), send(alice, **body), alice.socket.command("message.send", body))
    assert by_socket["ok"], by_socket
    assert first["id"] == again["id"] == by_socket["data"]["id"]
    later = await send(alice, **body)
    assert later["id"] == first["id"]
    other = await send(alice, to=BOB, message="exactly once", clientId="page-7f3b")
    assert other["id"] != first["id"]
    # The queue is FIFO: once the second key's message is at the phone, any repeat of the first
    # would be there too.
    await at_phone(alice.fakewa, BOB, other["id"])
    bodies = [m["body"] for m in await alice.fakewa.messages(BOB) if m["type"] == "chat"]
    assert bodies.count("exactly once") == 2, bodies
    response = await alice.server.client.post(f"/api/whatsapp/send/{alice.uid}", headers=bearer(alice.token),
                                              json={**body, "clientId": "no spaces"})
    assert "clientId" in assert_error(response, 422, "validation_failed")["fields"]


async def test_a_chat_keeps_the_name_its_person_gave_when_the_page_later_names_it_by_number(alice):
    carol = "79995550003"
    await alice.fakewa.incoming(ALICE, carol, "hello there", pushname="Кэрол")
    reply = await send(alice, to=carol, message="hi Carol")  # at once, as a quick user would
    await at_phone(alice.fakewa, carol, reply["id"])
    await frame(alice.socket, "message", lambda d: d["body"] == "hello there")
    await frame(alice.socket, "chat", lambda d: d["id"] == f"{carol}@c.us" and d["lastMessage"]
                and d["lastMessage"]["id"] == reply["id"])
    response = await alice.server.client.get(f"/api/whatsapp/chats/{alice.uid}", headers=bearer(alice.token))
    names = {c["id"]: c["name"] for c in response.json()["items"]}
    assert names[f"{carol}@c.us"] == "Кэрол", names


async def _taken(queues: Any, before: int) -> bool:
    return queues.accepted > before


async def _bodies_at(fakewa: Any, phone: str, count: int) -> list[str] | None:
    listed = [m for m in await fakewa.messages(phone) if m["type"] == "chat"]
    listed.sort(key=lambda m: (m["t"], m.get("order", 0)))
    bodies = [m["body"] for m in listed]
    return bodies if len(bodies) >= count else None


async def test_a_full_queue_answers_429_and_the_accepted_leave_in_order(make_server, fakewa):
    server = await make_server(**wa_config(fakewa, send_queue=2, send_rate={"per_minute": 30, "burst": 1, "jitter_seconds": 0}))
    token, user = await server.register("queued")
    await link(server, fakewa, token, user["id"], ALICE, "Alice")
    answers = await asyncio.gather(*(
        server.client.post(f"/api/whatsapp/send/{user['id']}", headers=bearer(token), json={"to": BOB, "message": f"q{n}"})
        for n in range(8)))
    accepted = [a.json()["body"] for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and len(accepted) + len(refused) == 8
    for answer in refused:
        assert_error(answer, 429, "rate_limited")
        assert int(answer.headers["Retry-After"]) >= 1
    assert accepted == sorted(accepted, key=lambda b: int(b[1:]))  # in the order they were sent
    assert 3 <= len(accepted) <= 4  # the one sending, and the queue of 2 (and one that left meanwhile)


# -- media out -------------------------------------------------------------------------------------
async def test_an_image_and_a_20_mb_file_reach_the_phone_byte_for_byte(alice):
    image = png_bytes(24, 24, seed=3)
    assert len(image) < 4096
    uploaded = await upload(alice, image, "image/png", "dot.png")
    assert uploaded["mimetype"] == "image/png" and uploaded["sha256"] == sha256_hex(image)
    photo = await send(alice, to=BOB, mediaId=uploaded["mediaId"], caption="a dot")
    assert photo["type"] == "image" and photo["caption"] == "a dot" and photo["body"] == ""
    assert photo["media"]["mimetype"] == "image/png" and photo["media"]["status"] == "ready"
    listed = await at_phone(alice.fakewa, BOB, photo["id"], lambda m: m["media"])
    assert listed["media"]["sha256"] == sha256_hex(image) and listed["caption"] == "a dot"
    assert await alice.fakewa.media(listed["media"]["sha256"]) == image

    big = alice.tmp / "big.bin"
    digest = random_file(big, 20 * 1024 * 1024)
    response = await alice.server.client.post(
        f"/api/whatsapp/media/{alice.uid}", params={"filename": "big.bin"}, content=file_chunks(big),
        headers={**bearer(alice.token), "Content-Type": "application/octet-stream"}, timeout=120)
    assert response.status_code == 201, response.text
    document = await send(alice, to=BOB, mediaId=response.json()["mediaId"])
    assert document["type"] == "document" and document["media"]["filename"] == "big.bin"
    listed = await at_phone(alice.fakewa, BOB, document["id"], lambda m: m["media"])
    assert listed["media"]["sha256"] == digest and listed["media"]["size"] == 20 * 1024 * 1024
    # The server kept the file it sent: its media answers at once, without the session.
    served = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{document['id']}/media",
                                           headers=bearer(alice.token), timeout=120)
    assert served.status_code == 200 and sha256_hex(served.content) == digest


async def test_a_voice_note_is_converted_to_ogg_opus(alice):
    wav = make_wav(alice.tmp / "note.wav")
    uploaded = await upload(alice, wav.read_bytes(), "audio/wav", "note.wav")
    voice = await send(alice, to=BOB, mediaId=uploaded["mediaId"], **{"as": "voice"})
    assert voice["type"] == "ptt"
    listed = await at_phone(alice.fakewa, BOB, voice["id"], lambda m: m["media"])
    assert listed["type"] == "ptt" and listed["media"]["mimetype"].startswith("audio/ogg")
    assert b"OpusHead" in (await alice.fakewa.media(listed["media"]["sha256"]))[:512]
    # Another user's media is not there for her.
    other_token, other = await alice.server.register("mallory")
    response = await alice.server.client.post(f"/api/whatsapp/send/{other['id']}", headers=bearer(other_token),
                                              json={"to": BOB, "mediaId": uploaded["mediaId"]})
    assert response.status_code in (404, 409)  # 409: her session is not even connected
    assert_error(await alice.server.client.get(f"/api/whatsapp/media/{other['id']}/{uploaded['mediaId']}",
                                               headers=bearer(other_token)), 404, "not_found")


# -- media in ---------------------------------------------------------------------------------------------
async def test_incoming_image_document_and_voice_download_byte_for_byte(alice):
    image = png_bytes(32, 16, seed=7)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    voice = ogg_opus(alice.tmp / "voice.ogg").read_bytes()
    sent = [
        await alice.fakewa.incoming(ALICE, BOB, caption="look", media={"mimetype": "image/png", "filename": "look.png", "data": b64(image)}),
        await alice.fakewa.incoming(ALICE, BOB, media={"mimetype": "application/pdf", "filename": "report.pdf", "data": b64(pdf)}),
        await alice.fakewa.incoming(ALICE, BOB, media={"mimetype": "audio/ogg; codecs=opus", "data": b64(voice), "kind": "voice"}),
    ]
    frames = [await frame(alice.socket, "message", lambda d, s=s: stanza(d["id"]) == s["id"]["id"]) for s in sent]
    assert [f["type"] for f in frames] == ["image", "document", "ptt"]
    assert frames[0]["caption"] == "look" and frames[0]["media"]["mimetype"] == "image/png"
    assert base64.b64decode(frames[0]["media"]["thumbnail"])[:3] == b"\xff\xd8\xff"  # a JPEG, inline
    assert frames[1]["media"]["filename"] == "report.pdf" and frames[1]["media"]["size"] == len(pdf)
    assert all(f["media"]["status"] == "remote" for f in frames)
    for data, got in zip((image, pdf, voice), frames):
        url = f"/api/whatsapp/messages/{alice.uid}/{got['id']}/media"
        response = await alice.server.client.get(url, headers=bearer(alice.token))
        assert response.status_code == 200, response.text
        assert response.content == data and response.headers["ETag"].strip('"') == sha256_hex(data)
    # a Range request answers the slice
    part = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{frames[1]['id']}/media",
                                         headers={**bearer(alice.token), "Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == pdf[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(pdf)}"
    stored = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{frames[1]['id']}", headers=bearer(alice.token))
    assert stored.json()["media"]["status"] == "ready"


async def test_expired_media_is_410_and_a_stopped_session_409(alice):
    gone = b"%PDF-1.4\n" + b"gone " * 100 + b"\n%%EOF\n"
    kept = b"%PDF-1.4\n" + b"kept " * 100 + b"\n%%EOF\n"
    first = await alice.fakewa.incoming(ALICE, BOB, media={"mimetype": "application/pdf", "filename": "a.pdf", "data": b64(gone)})
    second = await alice.fakewa.incoming(ALICE, BOB, media={"mimetype": "application/pdf", "filename": "b.pdf", "data": b64(kept)})
    ids = [(await frame(alice.socket, "message", lambda d, s=s: stanza(d["id"]) == s["id"]["id"]))["id"] for s in (first, second)]
    await alice.fakewa.expire_media(sha256_hex(gone))
    expired = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{ids[0]}/media", headers=bearer(alice.token))
    assert_error(expired, 410, "gone")
    after = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{ids[0]}", headers=bearer(alice.token))
    assert after.json()["media"]["status"] == "expired"
    await alice.server.client.post(f"/api/whatsapp/disconnect/{alice.uid}", headers=bearer(alice.token))
    stopped = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{ids[1]}/media", headers=bearer(alice.token))
    assert_error(stopped, 409, "conflict")
    text = await alice.server.client.get(f"/api/whatsapp/messages/{alice.uid}/{ids[1]}/media", headers=bearer(alice.token))
    assert text.status_code == 409


# -- replies, reactions, edits, deletes, locations, reads -----------------------------------------------------
async def test_reply_react_edit_delete_and_location_show_on_the_phone_and_come_back_as_frames(alice):
    server, uid, token, socket, fakewa = alice.server, alice.uid, alice.token, alice.socket, alice.fakewa
    question = await fakewa.incoming(ALICE, BOB, "lunch at noon?")
    theirs = await frame(socket, "message", lambda d: stanza(d["id"]) == question["id"]["id"])

    # reply
    answer = await send(alice, to=BOB, message="yes", replyTo=theirs["id"])
    assert answer["quotedId"] == theirs["id"] and answer["quoted"]["body"] == "lunch at noon?"
    listed = await at_phone(fakewa, BOB, answer["id"], lambda m: m["quotedId"])
    assert stanza(listed["quotedId"]) == stanza(theirs["id"])
    bad = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token),
                                   json={"to": BOB, "message": "x", "replyTo": "false_1@c.us_NOPE"})
    assert "replyTo" in assert_error(bad, 422, "validation_failed")["fields"]

    # reactions, both ways
    reacted = await server.client.post(f"/api/whatsapp/messages/{uid}/{theirs['id']}/react", headers=bearer(token), json={"emoji": "👍"})
    assert reacted.status_code == 200 and [r["emoji"] for r in reacted.json()["reactions"]] == ["👍"]
    await frame(socket, "message.reaction", lambda d: d["id"] == theirs["id"] and d["emoji"] == "👍" and d["fromMe"])
    await at_phone(fakewa, BOB, theirs["id"], lambda m: m["reactions"] == [{"sender": f"{ALICE}@c.us", "emoji": "👍"}])
    await fakewa.react(BOB, ALICE, listed["id"]["_serialized"], "❤️")
    got = await frame(socket, "message.reaction", lambda d: d["id"] == answer["id"] and not d["fromMe"])
    assert got["emoji"] == "❤️" and got["from"] == BOB_CHAT
    mine = await server.client.get(f"/api/whatsapp/messages/{uid}/{answer['id']}", headers=bearer(token))
    assert [(r["from"], r["emoji"]) for r in mine.json()["reactions"]] == [(BOB_CHAT, "❤️")]

    # edits, both ways
    edited = await server.client.put(f"/api/whatsapp/messages/{uid}/{answer['id']}", headers=bearer(token), json={"message": "yes, at noon"})
    assert edited.status_code == 200 and edited.json()["body"] == "yes, at noon" and edited.json()["edited"]
    await frame(socket, "message.edited", lambda d: d["id"] == answer["id"] and d["body"] == "yes, at noon")
    await at_phone(fakewa, BOB, answer["id"], lambda m: m["edited"] and m["body"] == "yes, at noon")
    refused = await server.client.put(f"/api/whatsapp/messages/{uid}/{theirs['id']}", headers=bearer(token), json={"message": "mine now"})
    assert_error(refused, 409, "conflict")
    await fakewa.edit(BOB, ALICE, question["id"]["_serialized"], "lunch at one?")
    await frame(socket, "message.edited", lambda d: d["id"] == theirs["id"] and d["body"] == "lunch at one?")

    # a location, both ways
    place = await send(alice, to=BOB, location={"latitude": 55.7558, "longitude": 37.6173, "name": "Red Square"})
    assert place["type"] == "location" and place["location"]["name"] == "Red Square"
    await at_phone(fakewa, BOB, place["id"], lambda m: m["location"] and abs(m["location"]["latitude"] - 55.7558) < 1e-6)
    there = await fakewa.incoming(ALICE, BOB, location={"latitude": 59.9398, "longitude": 30.3146, "name": "Hermitage"})
    got = await frame(socket, "message", lambda d: stanza(d["id"]) == there["id"]["id"])
    assert got["type"] == "location" and got["location"]["name"] == "Hermitage"

    # delete for everyone (ours), a phone's revoke, delete for me
    gone = await server.client.delete(f"/api/whatsapp/messages/{uid}/{place['id']}", headers=bearer(token))
    assert gone.status_code == 204
    await frame(socket, "message.revoked", lambda d: d["id"] == place["id"])
    await at_phone(fakewa, BOB, place["id"], lambda m: m["revoked"])
    row = (await server.client.get(f"/api/whatsapp/messages/{uid}/{place['id']}", headers=bearer(token))).json()
    assert row["revoked"] and row["body"] == "" and row["location"] is None and row["type"] == "revoked"
    await fakewa.revoke(BOB, ALICE, question["id"]["_serialized"])
    await frame(socket, "message.revoked", lambda d: d["id"] == theirs["id"])
    assert (await server.client.get(f"/api/whatsapp/messages/{uid}/{theirs['id']}", headers=bearer(token))).json()["revoked"]
    mine_only = await server.client.delete(f"/api/whatsapp/messages/{uid}/{got['id']}", params={"for": "me"}, headers=bearer(token))
    assert mine_only.status_code == 204
    await frame(socket, "message.deleted", lambda d: d["id"] == got["id"])
    assert_error(await server.client.get(f"/api/whatsapp/messages/{uid}/{got['id']}", headers=bearer(token)), 404, "not_found")


async def test_reading_a_chat_sends_blue_ticks_and_clears_the_unread_count(alice):
    server, uid, token, fakewa = alice.server, alice.uid, alice.token, alice.fakewa
    for text in ("one", "two"):
        await fakewa.incoming(ALICE, BOB, text)

    async def unread() -> int | None:
        chats = (await server.client.get(f"/api/whatsapp/chats/{uid}", headers=bearer(token))).json()["items"]
        count = next((c["unreadCount"] for c in chats if c["id"] == BOB_CHAT), 0)
        return count if count == 2 else None

    await wait_for(unread, message="two unread messages")
    read = await alice.socket.command("chat.read", {"chatId": BOB_CHAT})
    assert read["ok"] and read["data"]["unreadCount"] == 0
    await frame(alice.socket, "chat", lambda d: d["id"] == BOB_CHAT and d["unreadCount"] == 0)

    async def blue() -> bool:
        mine = [m for m in await fakewa.messages(BOB) if m["from"] == BOB_CHAT and m["type"] == "chat"]
        return len(mine) == 2 and all(m["ack"] == 3 for m in mine)

    await wait_for(blue, message="blue ticks at the phone")
    rest = await server.client.post(f"/api/whatsapp/chats/{uid}/{BOB_CHAT}/read", headers=bearer(token))
    assert rest.status_code == 200 and rest.json()["unreadCount"] == 0

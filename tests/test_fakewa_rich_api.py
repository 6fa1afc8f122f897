"""The simulator's rich messaging without a browser: the control API (incoming media, locations
and replies, reactions, edits, revokes, expired files, the bytes of a file), its CDN, and the
websocket frames a page uses for them."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import time

import pytest

from tests.fakewa import FakeWhatsApp, SimControl, SimControlError, SimSettings
from tests.fakewa.media import ogg_duration
from tests.support.files import b64, ogg_opus, png_bytes, sha256_hex
from tests.support.fakewa_pages import ProtocolPage

ALICE, BOB = "79990000001", "79990000002"
PNG = png_bytes(12, 9, seed=5)


async def delivered(fakewa) -> None:
    """Long enough for a message to reach the recipient (ack 2)."""
    await asyncio.sleep(3 * fakewa.settings.ack_delay)


async def test_incoming_media_is_listed_without_secrets_and_its_bytes_are_held(fakewa):
    msg = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(PNG)}, caption="hi")
    assert msg["type"] == "image" and msg["body"] == "" and msg["caption"] == "hi"
    assert msg["media"] == {"mimetype": "image/png", "filename": None, "size": len(PNG), "sha256": sha256_hex(PNG)}
    assert not {"mediaKey", "directPath", "filehash"} & set(msg)
    assert await fakewa.media(sha256_hex(PNG)) == PNG
    response = await fakewa.request("GET", f"__sim/media/{sha256_hex(PNG)}")
    assert response.headers["X-Mimetype"] == "image/png"

    doc = await fakewa.incoming(ALICE, BOB, media={"mimetype": "application/pdf", "data": b64(b"%PDF-1.4 tiny")})
    assert doc["type"] == "document" and doc["media"]["filename"] == "file"
    sticker = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/webp", "data": b64(b"RIFF....WEBP"), "kind": "sticker"})
    assert sticker["type"] == "sticker"
    await delivered(fakewa)
    [mine, *_] = await fakewa.messages(BOB)  # the sender lists it as its own, with the same file
    assert mine["id"]["fromMe"] is True and mine["media"]["sha256"] == sha256_hex(PNG)


async def test_incoming_voice_note_location_and_reply(fakewa, tmp_path):
    voice = ogg_opus(tmp_path / "v.ogg", seconds=2).read_bytes()
    assert ogg_duration(voice) == 2
    note = await fakewa.incoming(ALICE, BOB, media={"mimetype": "audio/ogg; codecs=opus", "data": b64(voice)})
    assert note["type"] == "ptt"
    audio = await fakewa.incoming(ALICE, BOB, media={"mimetype": "audio/mpeg", "data": b64(b"ID3 not really")})
    assert audio["type"] == "audio"

    place = await fakewa.incoming(ALICE, BOB, location={"latitude": 1.5, "longitude": -2.25, "name": "Here", "address": "1 Main St"},
                                  quoted_id=note["id"]["_serialized"])
    assert place["type"] == "location" and place["body"] == ""
    assert place["location"] == {"latitude": 1.5, "longitude": -2.25, "name": "Here", "address": "1 Main St"}
    assert place["quotedId"] == note["id"]["_serialized"]
    await delivered(fakewa)
    at_bob = [m for m in await fakewa.messages(BOB) if m["type"] == "location"][0]
    assert at_bob["quotedId"] == f"true_{ALICE}@c.us_{note['id']['id']}"  # as Bob sees his own note


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"from": BOB, "body": "x", "media": {"mimetype": "image/png", "data": b64(PNG)}}, 422),
        ({"from": BOB}, 422),
        ({"from": BOB, "body": "x", "caption": "c"}, 422),
        ({"from": BOB, "media": {"mimetype": "image/png", "data": "%%%not base64"}}, 422),
        ({"from": BOB, "media": {"data": b64(PNG)}}, 422),
        ({"from": BOB, "media": {"mimetype": "image/png", "data": b64(PNG), "kind": "gif"}}, 422),
        ({"from": BOB, "location": {"latitude": 91, "longitude": 0}}, 422),
        ({"from": BOB, "location": {"latitude": 0, "longitude": "east"}}, 422),
        ({"from": BOB, "body": "x", "quotedId": "false_79990000002@c.us_NOPE"}, 404),
    ],
)
async def test_incoming_refuses_bad_input(fakewa, body, status):
    await fakewa.incoming(ALICE, BOB, "so that both phones exist")
    response = await fakewa.request("POST", f"__sim/phones/{ALICE}/incoming", body)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status and response.json()["error"]
    assert len(await fakewa.messages(ALICE)) == 1  # nothing else was sent


async def test_reactions_replace_and_remove(fakewa):
    msg = await fakewa.incoming(ALICE, BOB, "react to me")
    msg_id = msg["id"]["_serialized"]
    assert (await fakewa.react(ALICE, BOB, msg_id, "👍"))["reactions"] == [{"sender": f"{ALICE}@c.us", "emoji": "👍"}]
    await fakewa.react(BOB, ALICE, msg_id, "😂")  # the other side's id is accepted
    listed = await fakewa.react(ALICE, BOB, msg["id"]["id"], "❤️")  # and the bare id
    assert sorted((r["sender"], r["emoji"]) for r in listed["reactions"]) == [(f"{ALICE}@c.us", "❤️"), (f"{BOB}@c.us", "😂")]
    assert (await fakewa.react(ALICE, BOB, msg_id, ""))["reactions"] == [{"sender": f"{BOB}@c.us", "emoji": "😂"}]
    for body, status in (({"to": BOB, "msgId": msg_id, "emoji": 5}, 422), ({"to": BOB, "msgId": msg_id, "emoji": " "}, 422),
                         ({"to": BOB, "msgId": "true_x_NOPE", "emoji": "👍"}, 404), ({"to": "79990000009", "msgId": msg_id, "emoji": "👍"}, 404)):
        response = await fakewa.request("POST", f"__sim/phones/{ALICE}/react", body)
        assert response.status_code == status, (body, response.text)


async def test_edits_only_by_the_sender_within_the_window(fakewa):
    msg = await fakewa.incoming(ALICE, BOB, "helo")
    edited = await fakewa.edit(BOB, ALICE, msg["id"]["_serialized"], "hello")
    assert edited["body"] == "hello" and edited["edited"] is True
    assert [(m["body"], m["edited"]) for m in await fakewa.messages(ALICE)] == [("hello", True)]
    with pytest.raises(SimControlError) as other:
        await fakewa.edit(ALICE, BOB, msg["id"]["_serialized"], "mine now")
    assert other.value.status == 403
    with pytest.raises(SimControlError) as empty:
        await fakewa.edit(BOB, ALICE, msg["id"]["_serialized"], " ")
    assert empty.value.status == 422
    picture = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(PNG)}, caption="old")
    assert (await fakewa.edit(BOB, ALICE, picture["id"]["id"], "new"))["caption"] == "new"
    place = await fakewa.incoming(ALICE, BOB, location={"latitude": 0, "longitude": 0})
    with pytest.raises(SimControlError) as not_editable:
        await fakewa.edit(BOB, ALICE, place["id"]["id"], "elsewhere")
    assert not_editable.value.status == 409


async def test_edit_and_revoke_windows_are_settings():
    sim = FakeWhatsApp(SimSettings.fast(edit_window=0.2, revoke_window=0.2))
    control = SimControl(await sim.start("127.0.0.1", 0))
    try:
        msg = await control.incoming(ALICE, BOB, "soon too old")
        await asyncio.sleep(1.1)  # messages carry whole seconds
        for call in (control.edit(BOB, ALICE, msg["id"]["id"], "changed"), control.revoke(BOB, ALICE, msg["id"]["id"])):
            with pytest.raises(SimControlError) as late:
                await call
            assert late.value.status == 409 and "after sending" in late.value.message
    finally:
        await control.aclose()
        await sim.stop()


async def test_revoke_clears_the_message_for_both_and_only_the_sender_may(fakewa):
    picture = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(PNG)}, caption="oops")
    await fakewa.react(ALICE, BOB, picture["id"]["id"], "👀")
    with pytest.raises(SimControlError) as other:
        await fakewa.revoke(ALICE, BOB, picture["id"]["id"])
    assert other.value.status == 403
    gone = await fakewa.revoke(BOB, ALICE, picture["id"]["id"])
    assert (gone["type"], gone["body"], gone["caption"], gone["media"], gone["reactions"], gone["revoked"]) == (
        "revoked", "", None, None, [], True)
    assert (await fakewa.revoke(BOB, ALICE, picture["id"]["id"]))["revoked"] is True  # again: a no-op
    [at_alice] = await fakewa.messages(ALICE)
    assert at_alice["type"] == "revoked" and at_alice["revoked"] is True
    with pytest.raises(SimControlError) as no_reactions:
        await fakewa.react(ALICE, BOB, picture["id"]["id"], "👍")
    assert no_reactions.value.status == 409


async def test_an_expired_file_is_gone_from_the_network_and_the_cdn(fakewa):
    await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(PNG)})
    await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(PNG)})  # the same file again
    [upload, _] = fakewa.sim.network.media.uploads.values()
    assert (await fakewa.request("GET", upload.direct_path.lstrip("/"))).content == PNG
    assert await fakewa.expire_media(sha256_hex(PNG)) == 2
    assert (await fakewa.request("GET", upload.direct_path.lstrip("/"))).status_code == 404
    with pytest.raises(SimControlError) as expired:
        await fakewa.media(sha256_hex(PNG))
    assert expired.value.status == 410
    for path, status in ((f"__sim/media/{'0' * 64}/expire", 404), ("__sim/media/xyz/expire", 422)):
        response = await fakewa.request("POST", path)
        assert response.status_code == status and response.json()["status"] == status
    assert (await fakewa.request("GET", "v/t62.7118-24/never_given.enc")).status_code == 404


async def test_a_page_uploads_sends_and_acts_over_its_protocol(fakewa):
    alice, bob = ProtocolPage(fakewa.url), ProtocolPage(fakewa.url)
    await alice.link(fakewa, ALICE)
    await bob.link(fakewa, BOB)
    auth = {"Authorization": f"WADevice {alice.cred['deviceId']}:{alice.cred['secret']}"}
    media_key = base64.b64encode(b"k" * 32).decode()
    filehash = base64.b64encode(hashlib.sha256(PNG).digest()).decode()
    headers = {**auth, "X-WA-Filehash": filehash, "X-WA-Media-Key": media_key, "Content-Type": "image/png"}
    for bad, status in (({**headers, "Authorization": "WADevice nobody:x"}, 401),
                        ({**headers, "X-WA-Filehash": base64.b64encode(b"\0" * 32).decode()}, 400),
                        ({**headers, "X-WA-Media-Key": "c2hvcnQ="}, 400)):
        assert (await fakewa.request("POST", "mms/image", content=PNG, headers=bad)).status_code == status
    uploaded = (await fakewa.request("POST", "mms/image", content=PNG, headers=headers)).json()
    assert uploaded["direct_path"].startswith("/v/") and uploaded["url"].endswith(uploaded["direct_path"])

    media = {"directPath": uploaded["direct_path"], "filehash": filehash, "mediaKey": media_key, "mimetype": "image/png",
             "size": len(PNG), "width": 12, "height": 9, "thumbnail": b64(b"\xff\xd8\xff tiny")}
    alice.send({"type": "send", "id": "3EB0AAAA", "to": f"{BOB}@c.us", "t": int(time.time()), "kind": "image", "caption": "c", "media": media})
    alice.send({"type": "send", "id": "3EB0BBBB", "to": f"{BOB}@c.us", "t": int(time.time()), "kind": "image",
                "media": {**media, "mediaKey": base64.b64encode(b"x" * 32).decode()}})
    assert (await alice.expect("send_error"))["id"] == "3EB0BBBB"
    [arrived] = [d["msg"] for d in await bob.until("msg")]
    assert (arrived["type"], arrived["caption"], arrived["width"], arrived["body"]) == ("image", "c", 12, media["thumbnail"])
    assert arrived["directPath"] == uploaded["direct_path"] and arrived["mediaKey"] == media_key  # what a page downloads with

    bob.send({"type": "react", "rid": 1, "id": arrived["id"]["_serialized"], "emoji": "🔥", "reactionId": "3EB0R1"})
    assert (await bob.result(1))["ok"] is True
    [row] = [d["row"] for d in await alice.until("reaction")]
    assert (row["parentMsgKey"], row["senderUserJid"], row["reactionText"]) == (f"true_{BOB}@c.us_3EB0AAAA", f"{BOB}@c.us", "🔥")
    assert row["msgKey"] == f"false_{BOB}@c.us_3EB0R1" and row["timestamp"] > 1e12
    bob.send({"type": "edit", "rid": 2, "id": arrived["id"]["_serialized"], "body": "not his", "editId": "3EB0E1"})
    assert (await bob.result(2)) == {"type": "result", "rid": 2, "ok": False, "error": "only the sender can edit a message"}
    alice.send({"type": "edit", "rid": 3, "id": f"true_{BOB}@c.us_3EB0AAAA", "body": "new caption", "editId": "3EB0E2"})
    assert (await alice.result(3))["ok"] is True
    [edit] = await bob.until("edit")
    assert (edit["caption"], edit["editKey"], edit["type"]) == ("new caption", f"false_{ALICE}@c.us_3EB0E2", "image")
    bob.send({"type": "delete", "rid": 4, "id": arrived["id"]["_serialized"]})
    assert (await bob.result(4))["ok"] is True
    alice.send({"type": "revoke", "rid": 5, "id": f"true_{BOB}@c.us_3EB0AAAA"})
    assert (await alice.result(5))["ok"] is True
    assert (await bob.until("revoke"))[0]["id"] == f"false_{ALICE}@c.us_3EB0AAAA"

    # A page syncing now: Bob deleted the message for himself, Alice sees it revoked.
    again = ProtocolPage(fakewa.url)
    again.cred = alice.cred
    alice.ws.close()
    await again.connect()
    synced = await again.expect("sync")
    [chat] = synced["chats"]
    assert [m["type"] for m in chat["msgs"]] == ["revoked"]
    assert [m["id"]["id"] for m in await fakewa.messages(BOB)] == []
    for page in (again, bob):
        page.ws.close()


class TestSlowDelivery:
    @pytest.fixture
    def fakewa_settings(self) -> SimSettings:
        return SimSettings.fast(ack_delay=1.0)  # delivered 2 s after sending: time to link a device

    async def test_reactions_reach_devices_linked_later(self, fakewa):
        """With the history when the message was delivered before, with the message when after."""
        early = await fakewa.incoming(ALICE, BOB, "old news")
        await fakewa.react(BOB, ALICE, early["id"]["id"], "👏")
        await delivered(fakewa)
        late = await fakewa.incoming(ALICE, BOB, "fresh news")
        await fakewa.react(BOB, ALICE, late["id"]["id"], "🙂")  # before it reaches Alice's phone
        page = ProtocolPage(fakewa.url)
        await page.link(fakewa, ALICE)
        [row] = page.synced["reactions"]
        assert (row["parentMsgKey"], row["reactionText"], row["senderUserJid"]) == (early["id"]["_serialized"], "👏", f"{BOB}@c.us")
        [event] = await page.until("msg")
        assert event["msg"]["id"]["_serialized"] == late["id"]["_serialized"]
        assert [(r["parentMsgKey"], r["reactionText"]) for r in event["reactions"]] == [(late["id"]["_serialized"], "🙂")]
        page.ws.close()


async def test_uploads_over_the_limit_are_refused():
    sim = FakeWhatsApp(SimSettings.fast(media_limit=1000, document_limit=2000))
    control = SimControl(await sim.start("127.0.0.1", 0))
    try:
        await control.incoming(ALICE, BOB, media={"mimetype": "application/pdf", "data": b64(b"d" * 1500)})
        with pytest.raises(SimControlError) as too_big:
            await control.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(b"i" * 1500)})
        assert too_big.value.status == 413
    finally:
        await control.aclose()
        await sim.stop()

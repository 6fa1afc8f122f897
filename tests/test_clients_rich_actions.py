"""Replies, reactions, edits, deletes, locations and read receipts through a session, in real
Chromium against the simulator, both ways: what this session does reaches the phone, and what the
phone does arrives as events. Only SessionManager. Against both generations of the page (on the
2026-08 one Bob's chat is addressed by his LID, and Alice writes in it as her LID)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from clients import ActionRefused, MessageNotFound
from tests.fakewa import SimControlError, SimSettings
from tests.support.clients import ALICE, BOB, Harness, phone_message
from tests.support.files import b64, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]


def stanza(msg_id: str) -> str:
    return msg_id.split("_")[-1]


async def from_bob(harness: Harness, body: str, **options) -> dict:
    """Bob's phone sends Alice ``body``; the session's message event for it."""
    mark = harness.events.mark()
    sent = await harness.control.incoming(ALICE, BOB, body, **options)
    return await harness.events.message("1", lambda m: m["id"] == sent["id"]["_serialized"], since=mark)


async def at_bob(harness: Harness, msg_id: str, check=lambda m: True, what: str = "the message") -> dict:
    """The message as Bob's phone lists it, once ``check`` holds."""
    return await phone_message(harness.control, BOB, lambda m: m["id"]["id"] == stanza(msg_id) and check(m), what)


async def test_replies_carry_the_quoted_message_both_ways(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    question = await from_bob(harness, "lunch at noon?")

    answer = await manager.send_text("1", BOB, "yes, noon", quoted_id=question["id"])
    assert answer["quotedId"] == question["id"] and answer["body"] == "yes, noon"
    assert answer["quoted"] == {"id": question["id"], "body": "lunch at noon?", "type": "chat", "fromMe": False,
                                "from": harness.wid(BOB)}
    at_phone = await at_bob(harness, answer["id"])
    assert at_phone["quotedId"] == f"true_{harness.wid(ALICE, viewer=BOB)}_{stanza(question['id'])}"  # as Bob sees his own

    # Bob replies to Alice's answer, naming it as his phone sees it.
    mark = events.mark()
    reply = await harness.control.incoming(ALICE, BOB, "great", quoted_id=at_phone["id"]["_serialized"])
    event = await events.message("1", lambda m: m["id"] == reply["id"]["_serialized"], since=mark)
    assert event["quotedId"] == answer["id"]
    assert event["quoted"] == {"id": answer["id"], "body": "yes, noon", "type": "chat", "fromMe": True,
                               "from": harness.me(ALICE, BOB)}
    [listed] = [m for m in await manager.messages("1", harness.wid(BOB)) if m["id"] == event["id"]]
    assert listed["quotedId"] == answer["id"]

    plain = await manager.send_text("1", BOB, "no quote")
    assert plain["quotedId"] is None and plain["quoted"] is None
    with pytest.raises(MessageNotFound):
        await manager.send_text("1", BOB, "to nothing", quoted_id=f"false_{harness.wid(BOB)}_3EB0000000DOESNOTEXIST")


async def test_a_reply_to_a_picture_quotes_its_caption(harness: Harness, tmp_path: Path):
    await harness.link("1", ALICE)
    mark = harness.events.mark()
    sent = await harness.control.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(png_bytes(8, 8))},
                                          caption="my cat")
    picture = await harness.events.message("1", lambda m: m["id"] == sent["id"]["_serialized"], since=mark)
    reply = await harness.manager.send_text("1", BOB, "cute", quoted_id=picture["id"])
    assert reply["quoted"]["type"] == "image" and reply["quoted"]["body"] == "my cat"


async def test_reactions_both_ways_replace_and_remove(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    theirs = await from_bob(harness, "I got the job")

    mark = events.mark()
    await manager.react("1", theirs["id"], "👍")
    ours = await events.wait("1", "reaction", lambda r: r["emoji"] == "👍", since=mark)
    assert ours["msgId"] == theirs["id"] and ours["chatId"] == harness.wid(BOB) and ours["fromMe"] is True
    assert ours["sender"] == harness.me(ALICE, BOB) and isinstance(ours["timestamp"], int) and ours["timestamp"] > 1e9
    await at_bob(harness, theirs["id"], lambda m: m["reactions"] == [{"sender": f"{ALICE}@c.us", "emoji": "👍"}])

    await manager.react("1", theirs["id"], "🎉")  # replaces the earlier one
    await events.wait("1", "reaction", lambda r: r["emoji"] == "🎉", since=mark)
    await at_bob(harness, theirs["id"], lambda m: m["reactions"] == [{"sender": f"{ALICE}@c.us", "emoji": "🎉"}])
    await manager.react("1", theirs["id"], "")
    removed = await events.wait("1", "reaction", lambda r: r["emoji"] == "", since=mark)
    assert removed["msgId"] == theirs["id"] and removed["fromMe"] is True
    await at_bob(harness, theirs["id"], lambda m: m["reactions"] == [])

    # Bob reacts to Alice's message, then takes it back.
    mine = await manager.send_text("1", BOB, "congratulations!")
    at_phone = await at_bob(harness, mine["id"])
    mark = events.mark()
    await harness.control.react(BOB, ALICE, at_phone["id"]["_serialized"], "❤️")
    heart = await events.wait("1", "reaction", lambda r: r["msgId"] == mine["id"], since=mark)
    assert (heart["emoji"], heart["sender"], heart["fromMe"], heart["chatId"]) == ("❤️", harness.wid(BOB), False, harness.wid(BOB))
    await harness.control.react(BOB, ALICE, mine["id"], "")  # the other side's id works too
    back = await events.wait("1", "reaction", lambda r: r["msgId"] == mine["id"] and r["emoji"] == "", since=mark)
    assert back["sender"] == harness.wid(BOB)

    with pytest.raises(MessageNotFound):
        await manager.react("1", f"false_{harness.wid(BOB)}_3EB0NOTHERE", "👍")


async def test_edit_our_message_refused_for_theirs_and_their_edits_arrive(harness: Harness, tmp_path: Path):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    sent = await manager.send_text("1", BOB, "see you at 5")
    assert sent["edited"] is False

    mark = events.mark()
    edited = await manager.edit("1", sent["id"], "see you at 6")
    assert (edited["id"], edited["body"], edited["edited"]) == (sent["id"], "see you at 6", True)
    event = await events.wait("1", "edit", lambda e: e["id"] == sent["id"], since=mark)
    assert event == {"id": sent["id"], "chatId": harness.wid(BOB), "body": "see you at 6", "caption": None,
                     "timestamp": event["timestamp"]} and event["timestamp"] >= sent["timestamp"]
    await at_bob(harness, sent["id"], lambda m: m["body"] == "see you at 6" and m["edited"])

    theirs = await from_bob(harness, "ok")
    with pytest.raises(ActionRefused, match="only your own messages"):
        await manager.edit("1", theirs["id"], "not ok")
    with pytest.raises(ActionRefused, match="to nothing"):
        await manager.edit("1", sent["id"], "   ")
    with pytest.raises(MessageNotFound):
        await manager.edit("1", f"true_{harness.wid(BOB)}_3EB0MISSING", "x")

    # Bob edits his message on his phone.
    mark = events.mark()
    await harness.control.edit(BOB, ALICE, theirs["id"], "ok, 6 it is")
    change = await events.wait("1", "edit", lambda e: e["id"] == theirs["id"], since=mark)
    assert (change["body"], change["chatId"], change["caption"]) == ("ok, 6 it is", harness.wid(BOB), None)
    [listed] = [m for m in await manager.messages("1", harness.wid(BOB)) if m["id"] == theirs["id"]]
    assert listed["edited"] is True and listed["body"] == "ok, 6 it is"

    # A picture's caption is what an edit changes.
    picture = tmp_path / "p.png"
    picture.write_bytes(png_bytes(8, 8))
    image = await manager.send_media("1", BOB, picture, mimetype="image/png", kind="image", caption="before")
    mark = events.mark()
    recaptioned = await manager.edit("1", image["id"], "after")
    assert (recaptioned["caption"], recaptioned["body"], recaptioned["edited"]) == ("after", "", True)
    change = await events.wait("1", "edit", lambda e: e["id"] == image["id"], since=mark)
    assert (change["caption"], change["body"]) == ("after", "")
    await at_bob(harness, image["id"], lambda m: m["caption"] == "after")


class TestEditWindow:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, edit_window=1.0)

    async def test_an_edit_after_the_window_is_refused(self, harness: Harness):
        await harness.link("1", ALICE)
        sent = await harness.manager.send_text("1", BOB, "typo")
        theirs = await from_bob(harness, "mine")
        await asyncio.sleep(2.1)  # the window (1 s) has certainly passed
        with pytest.raises(ActionRefused, match="no longer allows editing"):
            await harness.manager.edit("1", sent["id"], "fixed")
        with pytest.raises(SimControlError) as late:
            await harness.control.edit(BOB, ALICE, theirs["id"], "too late")
        assert late.value.status == 409
        assert (await at_bob(harness, sent["id"]))["body"] == "typo"


async def test_revoke_for_everyone_and_delete_for_me(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    sent = await manager.send_text("1", BOB, "oops, wrong chat")
    await at_bob(harness, sent["id"])

    mark = events.mark()
    await manager.revoke("1", sent["id"], everyone=True)
    assert await events.wait("1", "revoke", lambda r: r["id"] == sent["id"], since=mark) == {"id": sent["id"], "chatId": harness.wid(BOB)}
    gone = await at_bob(harness, sent["id"], lambda m: m["revoked"], "the revoked message")
    assert (gone["type"], gone["body"]) == ("revoked", "")
    [listed] = [m for m in await manager.messages("1", harness.wid(BOB)) if m["id"] == sent["id"]]
    assert (listed["type"], listed["body"], listed["revoked"]) == ("revoked", "", True)
    await manager.revoke("1", sent["id"], everyone=True)  # again: nothing more to do

    theirs = await from_bob(harness, "this stays on my phone")
    with pytest.raises(ActionRefused, match="only your own messages"):
        await manager.revoke("1", theirs["id"], everyone=True)
    # Delete for me: gone here and from Alice's phone, still on Bob's.
    await manager.revoke("1", theirs["id"], everyone=False)
    assert theirs["id"] not in [m["id"] for m in await manager.messages("1", harness.wid(BOB))]
    assert stanza(theirs["id"]) not in [m["id"]["id"] for m in await harness.control.messages(ALICE)]
    assert (await at_bob(harness, theirs["id"]))["revoked"] is False

    # Bob deletes one of his for everyone.
    other = await from_bob(harness, "forget this")
    mark = events.mark()
    await harness.control.revoke(BOB, ALICE, other["id"])
    assert await events.wait("1", "revoke", lambda r: r["id"] == other["id"], since=mark) == {"id": other["id"], "chatId": harness.wid(BOB)}
    with pytest.raises(MessageNotFound):
        await manager.revoke("1", f"true_{harness.wid(BOB)}_3EB0UNKNOWN", everyone=True)


async def test_locations_both_ways(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    sent = await manager.send_location("1", BOB, latitude=55.7539, longitude=37.6208, name="Red Square",
                                       address="Moscow, 109012")
    assert sent["type"] == "location" and sent["body"] == ""
    assert sent["location"] == {"latitude": 55.7539, "longitude": 37.6208, "name": "Red Square", "address": "Moscow, 109012"}
    at_phone = await at_bob(harness, sent["id"])
    assert at_phone["location"] == sent["location"] and at_phone["type"] == "location"
    bare = await manager.send_location("1", BOB, latitude=-33.8568, longitude=151.2153)
    assert bare["location"] == {"latitude": -33.8568, "longitude": 151.2153, "name": None, "address": None}
    with pytest.raises(ValueError):
        await manager.send_location("1", BOB, latitude=91, longitude=0)

    mark = events.mark()
    pin = await harness.control.incoming(ALICE, BOB, location={"latitude": 48.8584, "longitude": 2.2945, "name": "Tour Eiffel"},
                                         quoted_id=at_phone["id"]["_serialized"])
    event = await events.message("1", lambda m: m["id"] == pin["id"]["_serialized"], since=mark)
    assert event["type"] == "location" and event["quotedId"] == sent["id"]
    assert event["location"] == {"latitude": 48.8584, "longitude": 2.2945, "name": "Tour Eiffel", "address": None}


async def test_mark_read_gives_the_sender_blue_ticks_and_zero_unread(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    await from_bob(harness, "one")
    await from_bob(harness, "two")
    await events.wait("1", "chat", lambda c: c["id"] == harness.wid(BOB) and c["unreadCount"] == 2)

    mark = events.mark()
    await manager.mark_read("1", BOB)
    chat = await events.wait("1", "chat", lambda c: c["id"] == harness.wid(BOB) and c["unreadCount"] == 0, since=mark)
    assert chat["lastMessage"]["body"] == "two"
    for _ in range(200):
        acks = [m["ack"] for m in await harness.control.messages(BOB) if m["id"]["fromMe"]]
        if acks == [3, 3]:
            break
        await asyncio.sleep(0.05)
    assert acks == [3, 3]
    assert [c["unreadCount"] for c in await manager.chats("1") if c["id"] == harness.wid(BOB)] == [0]

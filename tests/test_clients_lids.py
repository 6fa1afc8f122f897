"""Message ids and LIDs through a session, in real Chromium against both generations of the
simulator's page: ids stay distinct strings whatever the shape of the page's message keys, a
phone number reaches the chat the phone sees (its LID chat on a 2026-08 page), the page's LID
mappings arrive as ``lid`` events, and the contacts, number checks and profile pictures the
page offers. Only SessionManager."""
from __future__ import annotations

import re

import httpx
import pytest

from clients import InvalidChatId, SendRefused
from tests.fakewa import SimControlError
from tests.fakewa.addressing import lid_wid
from tests.support.clients import ALICE, BOB, CAROL, Harness, phone_message
from tests.support.files import b64, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]

KEY = re.compile(r"^(true|false)_[0-9]+@(c\.us|lid)_[0-9A-F]+$")
DAVE, ERIN = "79990000004", "79990000005"


async def test_fifty_messages_keep_fifty_distinct_ids(harness: Harness):
    """A 2026-08 key has no _serialized: an id read the old way would be "[object Object]" for
    every message, and every message would overwrite one row."""
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    mark = events.mark()
    for i in range(25):
        await harness.control.incoming(ALICE, BOB, f"in {i}")
        await manager.send_text("1", BOB, f"out {i}")
    await events.message("1", lambda m: m["body"] == "in 24", since=mark)

    reported = {m["id"]: m for m in events.of("1", "message", mark) if m["type"] != "ciphertext"}
    assert len(reported) == 50 and all(KEY.match(i) for i in reported), sorted(reported)[:3]
    assert "[object Object]" not in str(events.events)
    listed = await manager.messages("1", harness.wid(BOB), 100)
    assert sorted(m["id"] for m in listed) == sorted(reported)
    assert {m["body"] for m in listed} == {f"in {i}" for i in range(25)} | {f"out {i}" for i in range(25)}


async def test_a_ciphertext_placeholder_is_reported_again_once_decrypted(harness: Harness):
    await harness.link("1", ALICE)
    mark = harness.events.mark()
    sent = await harness.control.incoming(ALICE, CAROL, media={"mimetype": "image/png", "data": b64(png_bytes(6, 6))},
                                          caption="look")
    picture = await harness.events.message("1", lambda m: m["id"] == sent["id"]["_serialized"], since=mark)
    assert (picture["type"], picture["caption"], picture["media"]["width"]) == ("image", "look", 6)
    reports = [m for m in harness.events.of("1", "message", mark) if m["id"] == picture["id"]]
    if harness.lids:  # first what a message is before its keys arrive: who, when, nothing of what it says
        placeholder = reports[0]
        assert (placeholder["type"], placeholder["body"], placeholder["caption"], placeholder["media"]) == ("ciphertext", "", None, None)
        assert placeholder["chatId"] == picture["chatId"] and placeholder["timestamp"] == picture["timestamp"]
        assert [m["type"] for m in reports] == ["ciphertext", "image"]
    else:
        assert [m["type"] for m in reports] == ["image"]


async def test_a_phone_number_reaches_the_chat_the_phone_sees(harness: Harness):
    manager, control = harness.manager, harness.control
    await control.contacts(ALICE, [{"phone": CAROL, "name": "Carol C."}])
    await control.phone_join(DAVE, "Dave")
    await harness.link("1", ALICE)

    # Bob is not in Alice's address book: on a 2026-08 page his chat is his LID's.
    to_bob = await manager.send_text("1", BOB, "to Bob's number")
    assert to_bob["chatId"] == harness.wid(BOB) and to_bob["from"] == harness.me(ALICE, BOB)
    # Carol is: her chat is her number's, on both pages.
    to_carol = await manager.send_text("1", f"+{CAROL}", "to Carol")
    assert to_carol["chatId"] == f"{CAROL}@c.us" and to_carol["from"] == f"{ALICE}@c.us"
    # A number that is not on WhatsApp has no LID: a chat by number, delivered as ever.
    to_erin = await manager.send_text("1", ERIN, "to a new number")
    assert to_erin["chatId"] == f"{ERIN}@c.us"
    # Dave turns LID addressing off (a 2026-08 switch; the 2026-03 network knows no LIDs).
    if harness.lids:
        await control.lid_addressing(DAVE, False)
    else:
        with pytest.raises(SimControlError) as refused:
            await control.lid_addressing(DAVE, False)
        assert refused.value.status == 409
    to_dave = await manager.send_text("1", DAVE, "to Dave")
    assert to_dave["chatId"] == f"{DAVE}@c.us"

    for phone, sent in ((BOB, to_bob), (CAROL, to_carol), (ERIN, to_erin), (DAVE, to_dave)):
        got = await phone_message(control, phone, lambda m, s=sent: m["id"]["id"] == s["id"].split("_")[-1])
        assert got["body"] == sent["body"] and got["counterpart"] == ALICE
    # One chat per person: none split into a number's chat and a LID's.
    assert sorted(c["id"] for c in await manager.chats("1")) == sorted(
        s["chatId"] for s in (to_bob, to_carol, to_erin, to_dave))
    # Replies come back into the same chats.
    mark = harness.events.mark()
    await control.incoming(ALICE, BOB, "Bob answers")
    answer = await harness.events.message("1", lambda m: m["body"] == "Bob answers", since=mark)
    assert answer["chatId"] == to_bob["chatId"] and answer["to"] == harness.me(ALICE, BOB)


async def test_lid_events_tell_the_mappings_the_page_learns(harness: Harness):
    await harness.control.contacts(ALICE, [CAROL])
    await harness.control.lid_addressing(CAROL, True) if harness.lids else None
    await harness.link("1", ALICE)
    events = harness.events
    if not harness.lids:
        await harness.manager.send_text("1", BOB, "hello")
        assert events.of("1", "lid") == []  # a 2026-03 page knows no LIDs
        return
    # At the sync: Carol, an address-book contact addressed by LID, with her number.
    [first] = events.of("1", "lid")
    assert first == {"pairs": [{"lid": lid_wid(CAROL), "phone": f"{CAROL}@c.us"}]}
    sync_index = [e for _, e, _ in events.events].index("sync")
    assert [e for _, e, _ in events.events].index("lid") < sync_index  # told before the sync
    # Bob writes: known by LID only. Alice writes to his number: now the page knows both.
    mark = events.mark()
    await harness.control.incoming(ALICE, BOB, "hi")
    await events.message("1", lambda m: m["body"] == "hi", since=mark)
    assert events.of("1", "lid", mark) == []
    await harness.manager.send_text("1", BOB, "hi Bob")
    later = await events.wait("1", "lid", since=mark)
    assert later == {"pairs": [{"lid": lid_wid(BOB), "phone": f"{BOB}@c.us"}]}


async def test_contacts_list_both_forms_of_each_person(harness: Harness):
    control = harness.control
    await control.phone_join(DAVE, "Dave", business=True)
    await control.contacts(ALICE, [{"phone": CAROL, "name": "Carol C."}, DAVE])
    await harness.link("1", ALICE, "Alice")
    await control.incoming(ALICE, BOB, "hi", pushname="Bob")
    await harness.events.message("1", lambda m: m["body"] == "hi")

    contacts = {c["id"]: c for c in await harness.manager.contacts("1")}
    carol = contacts[f"{CAROL}@c.us"]
    assert (carol["name"], carol["isMyContact"], carol["isBusiness"], carol["phone"]) == ("Carol C.", True, False, f"{CAROL}@c.us")
    assert carol["lid"] == (lid_wid(CAROL) if harness.lids else None)
    assert contacts[f"{DAVE}@c.us"]["isBusiness"] is True and contacts[f"{DAVE}@c.us"]["pushname"] == "Dave"
    bob = contacts[harness.wid(BOB)]  # wrote first, not in the address book
    assert (bob["pushname"], bob["isMyContact"], bob["name"]) == ("Bob", False, None)
    if harness.lids:
        assert (bob["lid"], bob["phone"]) == (lid_wid(BOB), None)  # his number is not shared
    else:
        assert (bob["lid"], bob["phone"]) == (None, f"{BOB}@c.us")
    assert f"{ALICE}@c.us" not in contacts and lid_wid(ALICE) not in contacts


async def test_check_number(harness: Harness):
    await harness.link("1", ALICE)
    found = await harness.manager.check_number("1", f"+{BOB}")
    assert found == {"exists": True, "id": f"{BOB}@c.us", "lid": lid_wid(BOB) if harness.lids else None}
    assert await harness.manager.check_number("1", "79995550000") == {"exists": False, "id": None, "lid": None}
    with pytest.raises(InvalidChatId):
        await harness.manager.check_number("1", "not a number")


async def test_profile_pictures(harness: Harness):
    picture = png_bytes(32, 32, seed=4)
    await harness.control.picture(BOB, "image/png", b64(picture))
    await harness.link("1", ALICE)
    found = await harness.manager.profile_picture("1", BOB)
    assert found["url"] and found["url"].startswith(harness.control.url.rstrip("/"))
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(found["url"])
    assert response.status_code == 200 and response.content == picture
    assert await harness.manager.profile_picture("1", CAROL) == {"url": None}  # none set


async def test_a_first_message_refused_raises_send_refused(harness: Harness):
    """What WhatsApp refuses is not left looking sent: the reach-out timelock (see also
    test_clients_limits.py) on a first message."""
    await harness.link("1", ALICE)
    await harness.control.timelock(ALICE, 30)
    with pytest.raises(SendRefused) as refused:
        await harness.manager.send_text("1", CAROL, "hello stranger")
    assert refused.value.reason == "reachout_timelock"

"""The simulator's people and groups without a browser: its control API (phones, LID addressing,
address books, pairing codes, groups, the reach-out timelock, profile pictures) and the
websocket frames a page uses for them, against both generations where they differ."""
from __future__ import annotations

import asyncio
import time

import pytest

from tests.fakewa import SimControlError, SimSettings
from tests.fakewa.addressing import lid_of, lid_wid
from tests.support.fakewa_pages import ProtocolPage
from tests.support.files import b64, png_bytes

pytestmark = pytest.mark.all_generations

ALICE, BOB, CAROL = "79990000001", "79990000002", "79990000003"


async def delivered(fakewa) -> None:
    await asyncio.sleep(3 * fakewa.settings.ack_delay)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "__sim/phones", {"phone": "12"}, 422),
        ("POST", "__sim/phones", {"phone": ALICE, "business": "yes"}, 422),
        ("GET", f"__sim/phones/{CAROL}", None, 404),
        ("POST", "__sim/pair", {"phone": ALICE}, 422),
        ("POST", "__sim/pair", {"phone": ALICE, "code": "ABCDEFGH"}, 404),
        ("POST", f"__sim/phones/{ALICE}/lid-addressing", {"on": "yes"}, 422),
        ("POST", f"__sim/phones/{ALICE}/contacts", {"contacts": "79990000002"}, 422),
        ("POST", f"__sim/phones/{ALICE}/contacts", {"contacts": ["12"]}, 422),
        ("POST", f"__sim/phones/{ALICE}/contacts", {"contacts": [], "groupAdd": "nobody"}, 422),
        ("POST", "__sim/groups", {"owner": ALICE, "name": "", "participants": []}, 422),
        ("POST", "__sim/groups", {"owner": ALICE, "name": "x", "participants": "all"}, 422),
        ("GET", "__sim/groups/120363000000000000@g.us", None, 404),
        ("POST", f"__sim/phones/{ALICE}/timelock", {"seconds": -1}, 422),
        ("POST", f"__sim/phones/{ALICE}/timelock", {}, 422),
        ("POST", f"__sim/phones/{ALICE}/picture", {"mimetype": "image/gif", "data": "AA=="}, 422),
        ("POST", f"__sim/phones/{ALICE}/picture", {"mimetype": "image/png", "data": "%%"}, 422),
    ],
)
async def test_bad_input_is_refused_with_a_json_error(fakewa, method, path, body, status):
    await fakewa.phone_join(ALICE)
    response = await fakewa.request(method, path, body)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status and response.json()["error"]


async def test_phones_join_with_a_stable_lid(fakewa):
    joined = await fakewa.phone_join(ALICE, "Alice", business=True)
    assert joined["lid"] == lid_wid(ALICE) and len(lid_of(ALICE)) == 15 and lid_of(ALICE) != lid_of(BOB)
    assert (joined["pushname"], joined["business"], joined["devices"], joined["contacts"]) == ("Alice", True, [], [])
    assert joined["timelock"] == {"active": False, "until": None} and joined["lidAddressing"] is None
    await fakewa.reset()
    assert (await fakewa.phone_join(ALICE))["lid"] == joined["lid"]  # the same in every run
    switched = await fakewa.request("POST", f"__sim/phones/{ALICE}/lid-addressing", {"on": True})
    assert switched.status_code == (200 if fakewa.settings.lids else 409), switched.text


async def test_chats_by_lid_for_strangers_and_by_number_for_contacts(fakewa):
    lids = fakewa.settings.lids
    await fakewa.phone_join(ALICE)
    await fakewa.contacts(ALICE, [CAROL])
    page = ProtocolPage(fakewa.url)
    await page.link(fakewa, ALICE)
    await fakewa.incoming(ALICE, BOB, "from a stranger")
    await fakewa.incoming(ALICE, CAROL, "from a contact")
    [stranger, contact] = await page.until("msg", 2)
    bob = lid_wid(BOB) if lids else f"{BOB}@c.us"
    assert stranger["msg"]["id"]["remote"] == stranger["msg"]["from"] == stranger["chat"]["id"] == bob
    assert stranger["msg"]["to"] == (lid_wid(ALICE) if lids else f"{ALICE}@c.us")
    assert stranger["contact"]["id"] == bob and "phoneNumber" not in stranger["contact"]  # his number is private
    assert contact["msg"]["id"]["remote"] == f"{CAROL}@c.us" and contact["msg"]["to"] == f"{ALICE}@c.us"
    assert contact["contact"].get("lid") == (lid_wid(CAROL) if lids else None)
    # The page must write to each as the chat is addressed, from the matching own id.
    page.send({"type": "send", "id": "3EB0AAAA0001", "to": f"{BOB}@c.us", "body": "by number"})
    page.send({"type": "send", "id": "3EB0AAAA0002", "to": f"{CAROL}@c.us", "from": lid_wid(ALICE), "body": "wrong me"})
    errors = [await page.expect("send_error") for _ in range(2 if lids else 1)]
    if lids:
        assert [e["id"] for e in errors] == ["3EB0AAAA0001", "3EB0AAAA0002"]
        assert "LID" in errors[0]["error"] and errors[0]["code"] == 422
    else:
        assert [e["id"] for e in errors] == ["3EB0AAAA0002"]
    page.send({"type": "send", "id": "3EB0AAAA0003", "to": bob, "from": lid_wid(ALICE) if lids else f"{ALICE}@c.us",
               "body": "right"})
    await delivered(fakewa)
    assert "right" in [m["body"] for m in await fakewa.messages(BOB)]
    page.ws.close()


async def test_a_chat_keeps_its_ids_when_the_addressing_changes(fakewa):
    await fakewa.incoming(ALICE, BOB, "first")
    if not fakewa.settings.lids:  # the 2026-03 network knows no LIDs: numbers only, no switch
        with pytest.raises(SimControlError) as refused:
            await fakewa.lid_addressing(BOB, False)
        assert refused.value.status == 409
        assert {m["chatId"] for m in await fakewa.messages(ALICE)} == {f"{BOB}@c.us"}
        return
    await fakewa.lid_addressing(BOB, False)
    await fakewa.incoming(ALICE, BOB, "second")
    await delivered(fakewa)
    assert {m["chatId"] for m in await fakewa.messages(ALICE)} == {lid_wid(BOB)}  # begun by LID, stays so
    await fakewa.incoming(ALICE, CAROL, "by number now", pushname="Carol")
    await fakewa.lid_addressing(CAROL, False)
    await fakewa.incoming(CAROL, BOB, "Bob to Carol: a new chat, by number")
    await delivered(fakewa)
    assert {m["chatId"] for m in await fakewa.messages(BOB) if m["counterpart"] == CAROL} == {f"{CAROL}@c.us"}
    assert (await fakewa.phone(CAROL))["lidAddressing"] is False


async def test_pairing_codes_over_the_protocol(fakewa):
    await fakewa.phone_join(ALICE)
    page = ProtocolPage(fakewa.url)
    await page.connect()
    await page.expect("ref")
    page.send({"type": "alt_link", "rid": 1, "phone": "79995550000", "code": "ABCD2345"})
    assert (await page.result(1)) == {"type": "result", "rid": 1, "ok": False, "error": "79995550000 is not on WhatsApp",
                                      "status": 404}
    page.send({"type": "alt_link", "rid": 2, "phone": ALICE, "code": "ABCD2345"})
    assert (await page.result(2))["ok"] is True
    for phone, code in ((BOB, "ABCD2345"), (ALICE, "ABCD2346")):
        response = await fakewa.request("POST", "__sim/pair", {"phone": phone, "code": code})
        assert response.status_code == 404
    linked = await fakewa.pair(ALICE, "abcd-2345", "Alice")
    assert linked["phone"] == ALICE
    await page.expect("pairing")
    page.cred = (await page.expect("paired"))["cred"]
    assert page.cred["deviceId"] == linked["device"]
    again = await fakewa.request("POST", "__sim/pair", {"phone": ALICE, "code": "ABCD2345"})
    assert again.status_code == 404  # used
    page.ws.close()


class TestShortCodes:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, pair_code_ttl=0.2)

    async def test_an_expired_code_links_nothing(self, fakewa):
        await fakewa.phone_join(ALICE)
        page = ProtocolPage(fakewa.url)
        await page.connect()
        await page.expect("ref")
        page.send({"type": "alt_link", "rid": 1, "phone": ALICE, "code": "QRST6789"})
        await page.result(1)
        await asyncio.sleep(0.4)
        assert (await fakewa.request("POST", "__sim/pair", {"phone": ALICE, "code": "QRST6789"})).status_code == 404
        page.ws.close()


async def test_groups_from_the_control_api_reach_members_pages(fakewa):
    lids = fakewa.settings.lids
    await fakewa.phone_join(ALICE)
    await fakewa.contacts(ALICE, [BOB])
    page = ProtocolPage(fakewa.url)
    await page.link(fakewa, ALICE)
    group_id = await fakewa.create_group(CAROL, "Book club", [ALICE, BOB])
    [event] = await page.until("group")
    info = event["group"]
    assert info["id"] == group_id == event["chat"]["id"] and info["isLidAddressingMode"] is lids
    member = (lambda p: lid_wid(p)) if lids else (lambda p: f"{p}@c.us")
    assert [p["id"] for p in info["participants"]] == [member(CAROL), member(ALICE), member(BOB)]
    assert info["owner"] == member(CAROL) and info["participants"][0]["isSuperAdmin"] is True
    # The numbers Alice knows: her own and her contact Bob's, not Carol's.
    assert info["lids"] == ([{"lid": lid_wid(p), "pn": f"{p}@c.us"} for p in (ALICE, BOB)] if lids else [])

    written = await fakewa.group_message(group_id, BOB, "page 12")
    [msg] = await page.until("msg")
    key = msg["msg"]["id"]
    assert (key["remote"], key["participant"], msg["msg"]["author"], msg["msg"]["from"]) == (
        group_id, member(BOB), member(BOB), group_id)
    assert key["_serialized"] == f"false_{group_id}_{written['id']['id']}_{member(BOB)}"
    listing = await fakewa.group(group_id)
    assert [(m["body"], m["sender"]) for m in listing["messages"]] == [("page 12", f"{BOB}@c.us")]
    refused = await fakewa.request("POST", f"__sim/groups/{group_id}/messages", {"from": "79990000009", "body": "x"})
    assert refused.status_code == 403

    # Alice (not an admin) may not change members; the network answers 403 for each.
    page.send({"type": "group_participants", "rid": 7, "id": group_id, "action": "remove", "participants": [f"{BOB}@c.us"]})
    assert (await page.result(7))["value"] == [{"wid": f"{BOB}@c.us", "code": 403}]
    page.ws.close()


async def test_the_reachout_timelock_refuses_first_messages_to_new_contacts(fakewa):
    await fakewa.phone_join(ALICE)
    page = ProtocolPage(fakewa.url)
    await page.link(fakewa, ALICE)
    assert page.synced["timelock"] == {"active": False, "until": None}
    await fakewa.incoming(ALICE, BOB, "an old friend")
    await page.until("msg")
    await fakewa.phone_join(CAROL)
    state = await fakewa.timelock(ALICE, 60)
    assert state["active"] is True and state["until"] >= time.time() + 55
    [pushed] = await page.until("timelock")
    assert pushed == state
    carol = lid_wid(CAROL) if fakewa.settings.lids else f"{CAROL}@c.us"
    me = lid_wid(ALICE) if fakewa.settings.lids else f"{ALICE}@c.us"
    page.send({"type": "send", "id": "3EB0BBBB0001", "to": carol, "from": me, "body": "hi stranger"})
    refused = await page.expect("send_error")
    assert refused["id"] == "3EB0BBBB0001" and refused["code"] == 463 and "timelock" in refused["error"]
    response = await fakewa.request("POST", f"__sim/phones/{CAROL}/incoming", {"from": ALICE, "body": "hi"})
    assert response.status_code == 463
    bob = lid_wid(BOB) if fakewa.settings.lids else f"{BOB}@c.us"
    page.send({"type": "send", "id": "3EB0BBBB0002", "to": bob, "from": me, "body": "hi again"})
    await delivered(fakewa)
    assert "hi again" in [m["body"] for m in await fakewa.messages(BOB)]
    assert (await fakewa.timelock(ALICE, 0)) == {"active": False, "until": None}
    await fakewa.incoming(CAROL, ALICE, "hello now")
    page.ws.close()


async def test_profile_pictures_are_served_like_the_cdn(fakewa):
    picture = png_bytes(20, 20, seed=9)
    await fakewa.phone_join(ALICE)
    await fakewa.phone_join(BOB)
    await fakewa.picture(BOB, "image/png", b64(picture))
    page = ProtocolPage(fakewa.url)
    await page.link(fakewa, ALICE)
    page.send({"type": "profile_pic", "rid": 1, "id": f"{BOB}@c.us"})
    path = (await page.result(1))["value"]["path"]
    assert path.startswith("/pps/t61.24694-24/")
    response = await fakewa.request("GET", path.lstrip("/"))
    assert response.status_code == 200 and response.content == picture and response.headers["Content-Type"] == "image/png"
    page.send({"type": "profile_pic", "rid": 2, "id": f"{ALICE}@c.us"})
    assert (await page.result(2))["status"] == 404
    await fakewa.picture(BOB, "image/png", b64(png_bytes(21, 21)))  # a new picture: the old URL is gone
    assert (await fakewa.request("GET", path.lstrip("/"))).status_code == 404
    page.ws.close()

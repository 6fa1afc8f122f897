"""Groups through a session, in real Chromium against both generations of the simulator's page:
creating one (with WhatsApp's answer for each person), its metadata and members (by LID in a
2026-08 group in LID addressing mode), sending to it like to a person, members writing in it,
adding and removing members. Only SessionManager."""
from __future__ import annotations

import pytest

from clients import ActionRefused, ChatNotFound, InvalidChatId
from tests.fakewa.addressing import lid_wid
from tests.support.clients import ALICE, BOB, CAROL, Harness, eventually

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]

DAVE, NOBODY = "79990000004", "79995550000"  # NOBODY is not on WhatsApp


def codes(results: list[dict]) -> dict[str, int]:
    return {r["id"]: r["status"] for r in results}


async def test_create_a_group_send_to_it_and_read_what_members_write(harness: Harness):
    manager, events, control = harness.manager, harness.events, harness.control
    await control.contacts(ALICE, [BOB])  # Alice knows Bob's number; Carol is a stranger to her
    await control.contacts(CAROL, [], group_add="contacts")  # only Carol's contacts may add her
    await harness.link("1", ALICE, "Alice")

    created = await manager.create_group("1", "  Lunch club ", [BOB, f"+{CAROL}", NOBODY])
    group_id = created["id"]
    assert group_id.endswith("@g.us") and created["name"] == "Lunch club"
    assert codes(created["participants"]) == {f"{BOB}@c.us": 200, f"{CAROL}@c.us": 403, f"{NOBODY}@c.us": 404}
    assert all(r["message"] for r in created["participants"])

    [group] = await manager.groups("1")
    assert group == {"id": group_id, "name": "Lunch club", "participants": 2, "isAdmin": True, "lidMode": harness.lids}
    info = await manager.group_info("1", group_id)
    assert (info["name"], info["lidMode"], info["description"]) == ("Lunch club", harness.lids, None)
    assert info["owner"] == (lid_wid(ALICE) if harness.lids else f"{ALICE}@c.us")
    members = {p["phone"]: p for p in info["participants"]}
    assert set(members) == {f"{ALICE}@c.us", f"{BOB}@c.us"}
    alice, bob = members[f"{ALICE}@c.us"], members[f"{BOB}@c.us"]
    assert (alice["isAdmin"], alice["isSuperAdmin"], bob["isAdmin"], bob["isSuperAdmin"]) == (True, True, False, False)
    if harness.lids:  # members by LID; Bob's number known because he is Alice's contact
        assert (bob["id"], bob["lid"]) == (lid_wid(BOB), lid_wid(BOB))
    else:
        assert (bob["id"], bob["lid"]) == (f"{BOB}@c.us", None)
    listing = await control.group(group_id)
    assert {p["phone"]: p["role"] for p in listing["participants"]} == {f"{ALICE}@c.us": "superadmin", f"{BOB}@c.us": "member"}

    # Sending to the group's id, like to a person.
    mark = events.mark()
    sent = await manager.send_text("1", group_id, "who is in?")
    me_in_group = lid_wid(ALICE) if harness.lids else f"{ALICE}@c.us"
    assert sent["chatId"] == group_id and sent["from"] == me_in_group and sent["author"] == me_in_group
    assert sent["id"] == f"true_{group_id}_{sent['id'].split('_')[2]}_{me_in_group}"
    await events.wait("1", "ack", lambda a: a["id"] == sent["id"] and a["ack"] == 2, since=mark)
    assert [m["body"] for m in (await control.group(group_id))["messages"]] == ["who is in?"]

    # Bob writes in the group.
    written = await control.group_message(group_id, BOB, "me!")
    got = await events.message("1", lambda m: m["body"] == "me!", since=mark)
    bob_in_group = lid_wid(BOB) if harness.lids else f"{BOB}@c.us"
    assert (got["chatId"], got["author"], got["fromMe"]) == (group_id, bob_in_group, False)
    assert got["id"] == f"false_{group_id}_{written['id']['id']}_{bob_in_group}"
    chat = await events.wait("1", "chat", lambda c: c["id"] == group_id and c["unreadCount"] == 1, since=mark)
    assert chat["isGroup"] is True and chat["lastMessage"]["id"] == got["id"]
    [listed_last] = (await manager.messages("1", group_id, 1))
    assert listed_last["id"] == got["id"]


async def test_add_and_remove_members_with_whatsapps_codes(harness: Harness):
    manager, control = harness.manager, harness.control
    await control.phone_join(DAVE, "Dave")
    await control.contacts(DAVE, [], group_add="contacts")
    await harness.link("1", ALICE)
    group_id = (await manager.create_group("1", "Team", [BOB]))["id"]

    added = await manager.group_participants("1", group_id, "add", [CAROL, BOB, DAVE, NOBODY])
    assert codes(added) == {f"{CAROL}@c.us": 200, f"{BOB}@c.us": 409, f"{DAVE}@c.us": 403, f"{NOBODY}@c.us": 404}
    assert [r["message"] for r in added if r["status"] == 409] == ["already in the group"]
    await eventually(lambda: True, 0.1)
    info = await manager.group_info("1", group_id)
    assert {p["phone"] or p["id"] for p in info["participants"]} >= {f"{ALICE}@c.us", f"{BOB}@c.us"}
    assert len(info["participants"]) == 3

    removed = await manager.group_participants("1", group_id, "remove", [BOB, DAVE])
    assert codes(removed) == {f"{BOB}@c.us": 200, f"{DAVE}@c.us": 404}
    assert [r["message"] for r in removed if r["status"] == 404] == ["not a member of the group"]
    roles = {p["phone"]: p["role"] for p in (await control.group(group_id))["participants"]}
    assert roles == {f"{ALICE}@c.us": "superadmin", f"{CAROL}@c.us": "member"}
    [group] = await manager.groups("1")
    assert group["participants"] == 2


async def test_what_a_member_who_is_not_an_admin_may_not_do(harness: Harness):
    manager, control = harness.manager, harness.control
    group_id = await control.create_group(BOB, "Bob's group", [ALICE, CAROL])
    await harness.link("1", ALICE)
    [group] = await manager.groups("1")
    assert (group["id"], group["isAdmin"], group["participants"]) == (group_id, False, 3)
    with pytest.raises(ActionRefused, match="admins"):
        await manager.group_participants("1", group_id, "remove", [CAROL])
    with pytest.raises(ChatNotFound):
        await manager.group_info("1", "120363999999999999@g.us")
    with pytest.raises(ChatNotFound):
        await manager.send_text("1", "120363999999999999@g.us", "anyone?")
    with pytest.raises(InvalidChatId):
        await manager.group_info("1", f"{BOB}@c.us")
    with pytest.raises(ValueError):
        await manager.group_participants("1", group_id, "promote", [CAROL])
    with pytest.raises(ValueError):
        await manager.create_group("1", "   ", [BOB])
    with pytest.raises(InvalidChatId):
        await manager.create_group("1", "Groups in groups", [group_id])
    sent = await manager.send_text("1", group_id, "hello everyone")  # a member may write
    assert sent["chatId"] == group_id

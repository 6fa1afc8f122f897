"""WhatsApp as it is in 2026, through the server on both databases: message ids that stay
distinct, one chat per person whether the page names them by phone or by LID, encrypted
placeholders that get their text, sessions that stop when nobody links them, numbers that keep
their own chats, and contacts, number checks, pictures, groups and reach-out limits."""
from __future__ import annotations

from typing import Any

import pytest

from server.whatsapp_api import whatsapp
from tests.fakewa.addressing import lid_wid
from tests.support.files import b64, png_bytes
from tests.support.server import assert_error, bearer
from tests.support.whatsapp import link, messages, shown_qr, status, wa_config, wait_for, wait_state
from tests.support.ws import connect

pytestmark = pytest.mark.browser

ALICE, BOB, CAROL, DAVE, ERIN = "79995570001", "79995570002", "79995570003", "79995570004", "79995570005"
BOB_CHAT = f"{BOB}@c.us"


async def chats(server: Any, token: str, uid: int) -> list[dict]:
    response = await server.client.get(f"/api/whatsapp/chats/{uid}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def send(server: Any, token: str, uid: int, **body: Any) -> dict:
    response = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.all_generations
async def test_fifty_messages_one_chat_per_person_and_placeholders_that_get_their_text(make_server, fakewa, clients):
    """On a 2026-08 page Bob's messages come in a chat named by his LID, keys are objects and a
    message may first arrive encrypted; on a 2026-03 page none of that. Either way: fifty messages
    are fifty rows, Bob is one chat under his number, and a picture's row ends with its caption."""
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("people")
    uid = user["id"]
    await link(server, fakewa, token, uid, ALICE, "Alice")
    socket = await connect(server, token)
    clients.append(socket)

    await fakewa.incoming(ALICE, BOB, "in 0", pushname="Bob")
    await socket.expect("message", lambda m: m["body"] == "in 0")
    for i in range(25):  # by his number: the session learns which LID is his
        await send(server, token, uid, to=f"+{BOB}", message=f"out {i}")
        if i:
            await fakewa.incoming(ALICE, BOB, f"in {i}")
    await socket.expect("message", lambda m: m["body"] == "in 24")

    async def all_fifty() -> list[dict] | None:
        listed = await messages(server, token, uid, BOB_CHAT)
        return listed if len(listed) >= 50 else None
    listed = await wait_for(all_fifty, message="fifty messages in Bob's chat")
    assert len({m["id"] for m in listed}) == 50 and "[object Object]" not in str(listed)
    assert {m["body"] for m in listed} == {f"in {i}" for i in range(25)} | {f"out {i}" for i in range(25)}
    assert [c["id"] for c in await chats(server, token, uid)] == [BOB_CHAT]
    if fakewa.settings.lids:
        assert await socket.expect("chat.merged", lambda d: d["into"] == BOB_CHAT)
        # A client may still name the chat by the LID it saw first.
        by_lid = await messages(server, token, uid, lid_wid(BOB))
        assert {m["id"] for m in by_lid} == {m["id"] for m in listed}
        over_socket = await socket.command("messages.list", {"chatId": lid_wid(BOB), "limit": 200})
        assert over_socket["ok"], over_socket
        assert {m["id"] for m in over_socket["data"]["items"]} == {m["id"] for m in listed}
        assert over_socket["data"]["total"] == 50
        from_plugin = await whatsapp(server.app).messages(uid, lid_wid(BOB), limit=200)  # the plugin API too
        assert {m["id"] for m in from_plugin} == {m["id"] for m in listed}

    picture = await fakewa.incoming(ALICE, BOB, caption="the receipt",
                                    media={"mimetype": "image/png", "data": b64(png_bytes(6, 6))})
    stanza = picture["id"]["id"]
    stored = await socket.expect("message", lambda m: m["id"].endswith(stanza) and m["type"] == "image")
    assert stored["caption"] == "the receipt" and stored["chatId"] == BOB_CHAT
    row = (await server.client.get(f"/api/whatsapp/messages/{uid}/{stored['id']}", headers=bearer(token))).json()
    assert (row["type"], row["caption"], row["media"]["mimetype"]) == ("image", "the receipt", "image/png")

    # A page's total is the chat's kept count (migration 0007): every stored message counted once,
    # those moved from the LID chat included; with ?before= only the older ones; one less after a delete.
    async def total(**params: Any) -> int:
        answer = await server.client.get(f"/api/whatsapp/chats/{uid}/{BOB_CHAT}/messages",
                                         params={"limit": 5, **params}, headers=bearer(token))
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) <= 5
        return answer.json()["total"]

    async def every_message() -> list[dict]:
        answer = await server.client.get(f"/api/whatsapp/chats/{uid}/{BOB_CHAT}/messages", params={"limit": 200},
                                         headers=bearer(token))
        return answer.json()["items"]

    everything = await every_message()
    assert len(everything) == 51 and await total() == 51
    stamps = sorted(m["timestamp"] for m in everything)
    for before in sorted(set(stamps)):  # the simulator may deliver all of them within a second
        assert await total(before=before) == sum(1 for s in stamps if s < before)
    assert await total(before="2100-01-01T00:00:00Z") == 51
    gone = await server.client.delete(f"/api/whatsapp/messages/{uid}/{everything[-1]['id']}", params={"for": "me"},
                                      headers=bearer(token))
    assert gone.status_code == 204, gone.text
    assert await total() == 50 == len(await every_message())


async def test_a_session_nobody_links_stops_and_frees_its_place(make_server, fakewa):
    server = await make_server(**wa_config(fakewa, max_sessions=1, link_timeout=5))
    token, user = await server.register("waiting")
    other_token, other = await server.register("next")
    response = await server.client.post(f"/api/whatsapp/start/{user['id']}", headers=bearer(token))
    assert response.status_code == 202, response.text
    await wait_state(server, token, user["id"], "QR")
    full = await server.client.post(f"/api/whatsapp/start/{other['id']}", headers=bearer(other_token))
    assert full.status_code == 503, full.text
    stopped = await wait_state(server, token, user["id"], "STOPPED", timeout=30)
    assert "link" in stopped["error"].lower(), stopped
    response = await server.client.post(f"/api/whatsapp/start/{other['id']}", headers=bearer(other_token))
    assert response.status_code == 202, response.text


async def test_a_session_linked_to_another_number_shows_none_of_the_old_chats(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("relinker")
    uid = user["id"]
    await link(server, fakewa, token, uid, ALICE, "Alice")
    await fakewa.incoming(ALICE, BOB, "for Alice's number only", pushname="Bob")
    await wait_for(lambda: _has_chats(server, token, uid), message="Bob's chat stored")

    # The phone unlinks the device; the same session is linked again, by another number.
    await fakewa.logout(ALICE)
    await wait_state(server, token, uid, "QR", "STOPPED", timeout=40)
    if (await status(server, token, uid))["state"] == "STOPPED":
        assert (await server.client.post(f"/api/whatsapp/start/{uid}", headers=bearer(token))).status_code == 202
    await fakewa.scan(await shown_qr(server, token, uid), DAVE, "Dave")
    await wait_state(server, token, uid, "CONNECTED")
    assert (await status(server, token, uid))["phone"] == DAVE
    assert await chats(server, token, uid) == []
    assert await messages(server, token, uid, BOB_CHAT) == []
    search = await server.client.get(f"/api/whatsapp/search/{uid}", params={"q": "number"}, headers=bearer(token))
    assert search.json()["total"] == 0

    # Cleared and linked again: nothing of Dave's either.
    await fakewa.incoming(DAVE, CAROL, "for Dave", pushname="Carol")
    await wait_for(lambda: _has_chats(server, token, uid), message="Carol's chat stored")
    cleared = await server.client.post(f"/api/whatsapp/clear-session/{uid}", headers=bearer(token))
    assert cleared.status_code == 200, cleared.text
    await link(server, fakewa, token, uid, ERIN, "Erin")
    assert await chats(server, token, uid) == []


async def _has_chats(server: Any, token: str, uid: int) -> bool:
    return bool(await chats(server, token, uid))


async def test_contacts_numbers_pictures_groups_and_a_group_send(make_server, fakewa):
    server = await make_server(**wa_config(fakewa, media={"fetch_allow_http": True, "fetch_allow_private": True}))
    token, user = await server.register("organiser")
    uid = user["id"]
    for phone, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol")):
        await fakewa.phone_join(phone, name)
    await fakewa.contacts(ALICE, [BOB, {"phone": CAROL, "name": "Carol from work"}])
    picture = png_bytes(12, 12, seed=3)
    await fakewa.picture(BOB, "image/png", b64(picture))
    await link(server, fakewa, token, uid, ALICE, "Alice")
    headers = bearer(token)

    async def address_book() -> list[dict] | None:
        response = await server.client.get(f"/api/whatsapp/contacts/{uid}", headers=headers)
        items = response.json()["items"]
        return items if {c["id"] for c in items} >= {BOB_CHAT, f"{CAROL}@c.us"} else None
    contacts = {c["id"]: c for c in await wait_for(address_book, message="the address book stored")}
    assert contacts[f"{CAROL}@c.us"]["name"] == "Carol from work" and contacts[BOB_CHAT]["isMyContact"]
    found = (await server.client.get(f"/api/whatsapp/contacts/{uid}", params={"q": "WORK"}, headers=headers)).json()
    assert [c["id"] for c in found["items"]] == [f"{CAROL}@c.us"]

    known = (await server.client.get(f"/api/whatsapp/check/{uid}/+{BOB}", headers=headers)).json()
    assert (known["exists"], known["id"]) == (True, BOB_CHAT)
    unknown = (await server.client.get(f"/api/whatsapp/check/{uid}/79995579999", headers=headers)).json()
    assert unknown["exists"] is False and unknown["id"] is None
    assert_error(await server.client.get(f"/api/whatsapp/check/{uid}/12", headers=headers), 422, "validation_failed")

    got = await server.client.get(f"/api/whatsapp/contacts/{uid}/{BOB_CHAT}/picture", headers=headers)
    assert got.status_code == 200, got.text
    assert got.content == picture and got.headers["content-type"] == "image/png"
    none = await server.client.get(f"/api/whatsapp/contacts/{uid}/{CAROL}@c.us/picture", headers=headers)
    assert_error(none, 404, "not_found")

    created = await server.client.post(f"/api/whatsapp/groups/{uid}", headers=headers,
                                       json={"name": "Lunch club", "participants": [f"+{BOB}", CAROL]})
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["name"] == "Lunch club" and {p["status"] for p in group["participants"]} == {200}
    listed = (await server.client.get(f"/api/whatsapp/groups/{uid}", headers=headers)).json()
    assert group["id"] in [g["id"] for g in listed["items"]]
    info = (await server.client.get(f"/api/whatsapp/groups/{uid}/{group['id']}", headers=headers)).json()
    assert {p["phone"] for p in info["participants"]} >= {BOB, CAROL}
    sent = await send(server, token, uid, to=group["id"], message="Friday at one?")
    at_sim = await fakewa.group(group["id"])
    assert any(m["body"] == "Friday at one?" for m in at_sim["messages"]), at_sim["messages"]
    assert sent["chatId"] == group["id"]
    changed = await server.client.post(f"/api/whatsapp/groups/{uid}/{group['id']}/participants", headers=headers,
                                       json={"remove": [CAROL]})
    assert changed.status_code == 200, changed.text
    assert [p["status"] for p in changed.json()["remove"]] == [200]
    assert CAROL not in {p["phone"] for p in (await fakewa.group(group["id"]))["participants"]}


async def test_a_reach_out_timelock_shows_in_the_status_and_refuses_new_chats(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("newcomer")
    uid = user["id"]
    await link(server, fakewa, token, uid, ALICE, "Alice")
    await fakewa.incoming(ALICE, BOB, "hi, we have talked before", pushname="Bob")
    await wait_for(lambda: _has_chats(server, token, uid), message="Bob's chat stored")
    await fakewa.timelock(ALICE, 600)

    async def locked() -> dict | None:
        current = await status(server, token, uid)
        return current if (current.get("limits") or {}).get("reachoutTimelock", {}).get("active") else None
    current = await wait_for(locked, message="the timelock in the status")
    assert current["limits"]["reachoutTimelock"]["until"]
    await fakewa.phone_join(DAVE, "Dave")
    refused = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": DAVE, "message": "hello"})
    error = assert_error(refused, 409, "send_refused")
    assert error["reason"] and error["until"]
    # An existing chat still works.
    assert (await send(server, token, uid, to=BOB, message="still here"))["body"] == "still here"

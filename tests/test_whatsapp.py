"""WhatsApp sessions through the server's REST API, in real Chromium against the simulator."""
from __future__ import annotations

import asyncio
import base64
import os
import signal

import pytest

from tests.support.server import assert_error, bearer
from tests.support.whatsapp import link, messages, status, wa_config, wait_for, wait_state

ALICE_PHONE, BOB_PHONE, CAROL_PHONE = "79990000001", "79990000002", "79990000003"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_two_users_link_chat_and_message_each_other(make_server, fakewa, caplog):
    server = await make_server(**wa_config(fakewa))
    admin_token, admin = await server.admin()
    alice_token, alice = await server.register("alice")
    bob_token, bob = await server.register("bob")

    # Both start at once; each QR is served as JSON with a PNG data URL and as PNG bytes.
    for token, user in ((alice_token, alice), (bob_token, bob)):
        assert (await server.client.post(f"/api/whatsapp/start/{user['id']}", headers=bearer(token))).status_code == 202
    for token, user in ((alice_token, alice), (bob_token, bob)):
        await wait_state(server, token, user["id"], "QR")
        qr = (await server.client.get(f"/api/whatsapp/qr/{user['id']}", headers=bearer(token))).json()
        assert qr["qr"].startswith("2@") and len(qr["qr"].split(",")) == 5
        assert base64.b64decode(qr["image"].split(",", 1)[1]).startswith(PNG_MAGIC)
        png = await server.client.get(f"/api/whatsapp/qr/{user['id']}?format=png", headers=bearer(token))
        assert png.headers["Content-Type"] == "image/png" and png.content.startswith(PNG_MAGIC)
    qr_a = (await server.client.get(f"/api/whatsapp/qr/{alice['id']}", headers=bearer(alice_token))).json()["qr"]
    qr_b = (await server.client.get(f"/api/whatsapp/qr/{bob['id']}", headers=bearer(bob_token))).json()["qr"]
    await fakewa.scan(qr_a, ALICE_PHONE, "Alice")
    await fakewa.scan(qr_b, BOB_PHONE, "Bob")
    a = await wait_state(server, alice_token, alice["id"], "CONNECTED")
    b = await wait_state(server, bob_token, bob["id"], "CONNECTED")
    assert (a["phone"], a["pushname"]) == (ALICE_PHONE, "Alice")
    assert (b["phone"], b["pushname"]) == (BOB_PHONE, "Bob")

    # An incoming message from a third number is stored and listed.
    await fakewa.incoming(ALICE_PHONE, CAROL_PHONE, "hello alice")
    carol_chat = f"{CAROL_PHONE}@c.us"
    got = await wait_for(lambda: messages(server, alice_token, alice["id"], carol_chat), message="incoming message")
    assert got[0]["body"] == "hello alice" and got[0]["fromMe"] is False and got[0]["timestamp"].endswith("Z")
    chats = (await server.client.get(f"/api/whatsapp/chats/{alice['id']}", headers=bearer(alice_token))).json()
    assert carol_chat in [c["id"] for c in chats["items"]]

    # Alice writes to Bob's number: stored at once, acks rise, it arrives in Bob's session.
    sent = await server.client.post(
        f"/api/whatsapp/send/{alice['id']}", headers=bearer(alice_token), json={"to": f"+{BOB_PHONE[:1]} {BOB_PHONE[1:]}", "message": "hi bob"}
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["chatId"] == f"{BOB_PHONE}@c.us" and message["fromMe"] is True and message["body"] == "hi bob"

    async def alice_sees_ack(level: int):
        rows = await messages(server, alice_token, alice["id"], f"{BOB_PHONE}@c.us")
        return [m for m in rows if m["id"] == message["id"] and m["ack"] >= level]

    await wait_for(lambda: alice_sees_ack(2), message="ack 2")
    at_bob = await wait_for(lambda: messages(server, bob_token, bob["id"], f"{ALICE_PHONE}@c.us"), message="bob receives")
    assert [m["body"] for m in at_bob] == ["hi bob"] and at_bob[0]["fromMe"] is False
    await fakewa.read(BOB_PHONE, f"{ALICE_PHONE}@c.us")
    await wait_for(lambda: alice_sees_ack(3), message="read receipt")
    listed = (await server.client.get(f"/api/whatsapp/chats/{alice['id']}", headers=bearer(alice_token))).json()["items"]
    to_bob = next(c for c in listed if c["id"] == f"{BOB_PHONE}@c.us")
    assert to_bob["lastMessage"]["id"] == message["id"] and to_bob["lastMessage"]["ack"] == 3
    rows = await messages(server, alice_token, alice["id"], f"{BOB_PHONE}@c.us")
    assert len([m for m in rows if m["id"] == message["id"]]) == 1  # acks never duplicate the row

    # Another user's session is refused; an admin may look.
    for method, path in (
        ("POST", "start"), ("GET", "status"), ("GET", "qr"), ("GET", "chats"), ("POST", "disconnect"),
        ("POST", "restart"), ("POST", "clear-session"),
    ):
        response = await server.client.request(method, f"/api/whatsapp/{path}/{alice['id']}", headers=bearer(bob_token))
        assert_error(response, 403, "forbidden")
    response = await server.client.post(f"/api/whatsapp/send/{alice['id']}", headers=bearer(bob_token), json={"to": BOB_PHONE, "message": "x"})
    assert_error(response, 403, "forbidden")
    assert (await status(server, admin_token, alice["id"]))["state"] == "CONNECTED"
    assert_error(await server.client.get("/api/whatsapp/status/999999", headers=bearer(admin_token)), 404, "not_found")
    sessions = (await server.client.get("/api/admin/whatsapp-sessions", headers=bearer(admin_token))).json()
    assert sessions["total"] == 2
    assert [(r["userId"], r["username"], r["state"], r["phone"]) for r in sessions["items"]] == [
        (alice["id"], "alice", "CONNECTED", ALICE_PHONE), (bob["id"], "bob", "CONNECTED", BOB_PHONE)]
    assert all(r["since"].endswith("Z") and r["lastActivity"].endswith("Z") for r in sessions["items"])
    second = (await server.client.get("/api/admin/whatsapp-sessions", params={"offset": 1, "limit": 1},
                                      headers=bearer(admin_token))).json()
    assert [r["userId"] for r in second["items"]] == [bob["id"]] and second["total"] == 2
    assert_error(await server.client.get("/api/admin/whatsapp-sessions", headers=bearer(bob_token)), 403, "forbidden")

    # A screenshot of a session's page: an admin's of anyone's, a user's of their own; each one audited.
    caplog.set_level("INFO", logger="wamulti.audit")
    for token, viewer in ((admin_token, "admin"), (alice_token, "user")):
        shot = await server.client.get(f"/api/admin/whatsapp-sessions/{alice['id']}/screenshot", headers=bearer(token))
        assert shot.status_code == 200 and shot.headers["Content-Type"] == "image/png", shot.text
        assert shot.content.startswith(PNG_MAGIC) and len(shot.content) > 1000
        assert shot.headers["Cache-Control"] == "no-store"
    assert_error(await server.client.get(f"/api/admin/whatsapp-sessions/{alice['id']}/screenshot", headers=bearer(bob_token)),
                 403, "forbidden")
    audited = [r for r in caplog.records if r.name == "wamulti.audit"]
    assert [(r.actorId, r.targetUserId) for r in audited] == [(admin["id"], alice["id"]), (alice["id"], alice["id"])]


async def test_bad_input_and_wrong_state_answers(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("dora")
    uid = user["id"]
    # Nothing started: no QR, no sending; lists still work from the database.
    error = assert_error(await server.client.get(f"/api/whatsapp/qr/{uid}", headers=bearer(token)), 409, "conflict")
    assert error["state"] == "STOPPED"
    send = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": "79990000009", "message": "x"})
    assert_error(send, 409, "conflict")
    chats = await server.client.get(f"/api/whatsapp/chats/{uid}", headers=bearer(token))
    assert chats.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    for to in ("abc", "12", "+7 999 abc", "1234567890123456789", "x@c.us", ""):
        response = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": to, "message": "x"})
        assert assert_error(response, 422, "validation_failed")["fields"].keys() == {"to"}, to
    missing = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": "79990000009"})
    assert "message" in assert_error(missing, 422, "validation_failed")["fields"]
    before = await server.client.get(f"/api/whatsapp/chats/{uid}/1@c.us/messages?before=yesterday", headers=bearer(token))
    assert "before" in assert_error(before, 422, "validation_failed")["fields"]
    assert await server.count("messages") == 0
    # No browser, no screenshot.
    shot = await server.client.get(f"/api/admin/whatsapp-sessions/{uid}/screenshot", headers=bearer(token))
    assert assert_error(shot, 409, "conflict")["state"] == "STOPPED"


async def test_restarts_keep_the_login_and_clear_session_does_not(make_server, fakewa, tmp_path):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("erin")
    uid = user["id"]
    await link(server, fakewa, token, uid, "79990000011", "Erin")

    # Restart: back to CONNECTED without showing a QR.
    seen: list[str] = []
    assert (await server.client.post(f"/api/whatsapp/restart/{uid}", headers=bearer(token))).status_code == 202
    await wait_state(server, token, uid, "CONNECTED", seen=seen)
    assert "QR" not in seen

    # Disconnect keeps the login.
    response = await server.client.post(f"/api/whatsapp/disconnect/{uid}", headers=bearer(token))
    assert response.status_code == 200 and response.json()["state"] == "STOPPED"
    seen = []
    await server.client.post(f"/api/whatsapp/start/{uid}", headers=bearer(token))
    await wait_state(server, token, uid, "CONNECTED", seen=seen)
    assert "QR" not in seen

    # Clear-session logs out and deletes the profile: the next start shows a QR.
    response = await server.client.post(f"/api/whatsapp/clear-session/{uid}", headers=bearer(token))
    assert response.status_code == 200 and response.json()["state"] == "STOPPED"
    assert not (tmp_path / "data" / "sessions" / str(uid)).exists()
    await server.client.post(f"/api/whatsapp/start/{uid}", headers=bearer(token))
    await wait_state(server, token, uid, "QR")


async def test_a_server_restart_restores_connected_sessions_and_what_arrived_meanwhile(make_server, fakewa):
    first = await make_server(**wa_config(fakewa))
    token, user = await first.register("frank")
    uid = user["id"]
    await link(first, fakewa, token, uid, "79990000021", "Frank")
    await first.client.aclose()
    await first.app.stop()  # like a deploy: browsers closed, states kept

    await fakewa.incoming("79990000021", "79990000022", "sent while the server was down")
    second = await make_server(**wa_config(fakewa))
    seen: list[str] = []
    await wait_state(second, token, uid, "CONNECTED", seen=seen)
    assert "QR" not in seen
    got = await wait_for(lambda: messages(second, token, uid, "79990000022@c.us"), message="message delivered during downtime")
    assert [m["body"] for m in got] == ["sent while the server was down"]


async def test_a_killed_browser_fails_then_comes_back_by_itself(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("gina")
    uid = user["id"]
    await link(server, fakewa, token, uid, "79990000031", "Gina")
    pids = server.app.state["whatsapp"].manager.browser_pids(str(uid))
    assert pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    seen: list[str] = []
    await wait_state(server, token, uid, "FAILED", seen=seen, timeout=20)
    await wait_state(server, token, uid, "CONNECTED", seen=seen)
    assert "QR" not in seen


async def test_limits_session_count_and_send_queue(make_server, fakewa):
    """Past the rate a send waits its turn; only a full queue refuses (see test_whatsapp_rich.py)."""
    server = await make_server(**wa_config(fakewa, max_sessions=1, send_queue=1,
                                           send_rate={"per_minute": 1, "burst": 1, "jitter_seconds": 0}))
    token, user = await server.register("hank")
    other_token, other = await server.register("ivy")
    await link(server, fakewa, token, user["id"], "79990000041", "Hank")
    refused = await server.client.post(f"/api/whatsapp/start/{other['id']}", headers=bearer(other_token))
    assert_error(refused, 503, "unavailable")
    url, body = f"/api/whatsapp/send/{user['id']}", {"to": "79990000042"}
    ok = await server.client.post(url, headers=bearer(token), json={**body, "message": "m0"})
    assert ok.status_code == 201
    # m1 waits for its turn (taken from the queue by its worker), m2 in the queue behind it. One
    # after the other: sent at once, m2 could find m1 still in the queue's one place, and get 429.
    waiting = []
    for depth, m in enumerate(("m1", "m2"), start=1):
        waiting.append(asyncio.create_task(server.client.post(url, headers=bearer(token), json={**body, "message": m})))
        await wait_for(lambda d=depth: _queued(server, user["id"], d), message=f"{m} waiting")
    limited = await server.client.post(url, headers=bearer(token), json={**body, "message": "m3"})
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 180
    rows = await messages(server, token, user["id"], "79990000042@c.us")
    assert [m["body"] for m in rows] == ["m0"]
    for task in waiting:
        task.cancel()


async def _queued(server, user_id: int, depth: int) -> bool:
    return server.app.state["whatsapp"].queues.depth(str(user_id)) == depth


async def test_a_tos_block_ends_failed_with_the_reason(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("jack")
    await link(server, fakewa, token, user["id"], "79990000051", "Jack")
    await fakewa.state("79990000051", "TOS_BLOCK")
    failed = await wait_state(server, token, user["id"], "FAILED")
    assert "TOS_BLOCK" in (failed["error"] or "")
    await asyncio.sleep(1.0)  # no restart loop: it stays FAILED
    assert (await status(server, token, user["id"]))["state"] == "FAILED"


@pytest.mark.parametrize("phone", ["79990000061"])
async def test_deleting_a_user_stops_and_clears_their_session(make_server, fakewa, tmp_path, phone):
    server = await make_server(**wa_config(fakewa))
    admin_token, _ = await server.admin()
    token, user = await server.register("kate")
    await link(server, fakewa, token, user["id"], phone, "Kate")
    manager = server.app.state["whatsapp"].manager
    response = await server.client.delete(f"/api/admin/users/{user['id']}", headers=bearer(admin_token))
    assert response.status_code == 204
    await wait_for(lambda: _stopped(manager, str(user["id"])), message="session stopped")
    assert not (tmp_path / "data" / "sessions" / str(user["id"])).exists()
    assert await server.count("wa_sessions") == 0


async def _stopped(manager, key: str) -> bool:
    return manager.status(key)["state"] == "STOPPED" and not manager.browser_pids(key)

"""A session's life against the simulator, in real Chromium: QR, linking, sync, messages, acks,
stopping and starting again, logging out, the link timeout. Against both generations of the page:
on the 2026-08 one, people who are not in the account's address book are named by LID."""
from __future__ import annotations

import asyncio
import base64

import pytest

from clients import NotConnected, SessionState
from tests.fakewa import SimSettings
from tests.fakewa.addressing import lid_wid
from tests.support.clients import (
    ALICE, BOB, CAROL, Harness, browsers_of, eventually, main_browsers,
)

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]


def assert_valid_qr(qr: str) -> None:
    ref, static, identity, adv, platform = qr.split(",")
    assert ref.startswith("2@")
    for key in (static, identity, adv):
        assert len(key) == 44 and len(base64.b64decode(key)) == 32
    assert platform


async def test_qr_scan_connects_with_phone_and_pushname_then_syncs_history(make_harness):
    harness = make_harness(sync_messages_per_chat=2)
    # Carol wrote to Alice before Alice linked this browser: the sync must bring the last two.
    for body in ("too old to sync", "sent while unlinked", "sent before linking"):
        await harness.control.incoming(ALICE, CAROL, body, pushname="Carol")
    manager, events = harness.manager, harness.events

    status = await manager.start("1")
    assert status["state"] == "STARTING" and status["qr"] is None
    qr = (await events.wait("1", "qr"))["qr"]
    assert_valid_qr(qr)
    assert manager.status("1")["state"] == "QR" and manager.status("1")["qr"] == qr
    qr_state = events.of("1", "state")[-1]
    assert qr_state["state"] == "QR" and qr_state["qr"] == qr  # a QR state always carries its QR

    await harness.control.scan(qr, ALICE, "Alice")
    connected = await events.state("1", "CONNECTED")
    assert connected["phone"] == ALICE and connected["pushname"] == "Alice" and connected["error"] is None
    assert connected["lid"] == (lid_wid(ALICE) if harness.lids else None) == manager.status("1")["lid"]
    assert connected["limits"] == {"reachoutTimelock": {"active": False, "until": None}}
    sync = await events.wait("1", "sync")
    [chat] = [c for c in sync["chats"] if c["id"] == harness.wid(CAROL)]
    assert chat["name"] == "Carol" and chat["isGroup"] is False and chat["unreadCount"] == 3
    assert chat["lastMessage"]["body"] == "sent before linking"
    assert [m["body"] for m in sync["messages"]] == ["sent while unlinked", "sent before linking"]
    msg = sync["messages"][-1]
    assert msg["chatId"] == harness.wid(CAROL) and msg["from"] == harness.wid(CAROL) and msg["fromMe"] is False
    assert msg["to"] == harness.me(ALICE, CAROL) and msg["type"] == "chat" and msg["ack"] >= 2
    assert msg["id"] == f"false_{harness.wid(CAROL)}_{msg['id'].split('_')[-1]}"
    assert events.states("1") == ["STARTING", "QR", "CONNECTED"]
    assert manager.statuses()["1"]["state"] == "CONNECTED" and manager.live_count() == 1
    # Carol wrote first: a 2026-08 page knows her by LID only (no number to map it to).
    assert [e["pairs"] for e in events.of("1", "lid")] == ([[]] if harness.lids else [])


async def test_send_text_gives_message_then_acks_up_to_read(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE, "Alice")
    mark = events.mark()

    sent = await manager.send_text("1", "+7 999 000-00-02", "hello Bob")
    bob = harness.wid(BOB)  # on a 2026-08 page the number reaches Bob's LID chat
    assert sent["chatId"] == bob and sent["to"] == bob and sent["from"] == harness.me(ALICE, BOB)
    assert sent["fromMe"] is True and sent["type"] == "chat" and sent["body"] == "hello Bob"
    assert isinstance(sent["timestamp"], int) and sent["id"] == f"true_{bob}_{sent['id'].split('_')[-1]}"
    message = await events.wait("1", "message", lambda m: m["id"] == sent["id"], since=mark)
    assert message["body"] == "hello Bob"
    await events.wait("1", "ack", lambda a: a["id"] == sent["id"] and a["ack"] == 2, since=mark)
    acks = [a["ack"] for a in events.of("1", "ack", mark) if a["id"] == sent["id"]]
    assert acks == sorted(acks) and acks[-1] == 2 and all(a["chatId"] == bob for a in events.of("1", "ack", mark))
    if harness.lids:  # looking the number up taught the page Bob's LID
        await events.wait("1", "lid", lambda d: {"lid": lid_wid(BOB), "phone": f"{BOB}@c.us"} in d["pairs"], since=mark)

    assert await harness.control.read(BOB, harness.wid(ALICE, viewer=BOB)) == 1
    await events.wait("1", "ack", lambda a: a["id"] == sent["id"] and a["ack"] == 3, since=mark)

    chats = await manager.chats("1")
    assert [c["id"] for c in chats] == [bob] and chats[0]["lastMessage"]["id"] == sent["id"]
    [listed] = await manager.messages("1", f"{BOB}@c.us")  # the number finds the chat of its LID
    assert listed["id"] == sent["id"] and listed["ack"] == 3


async def test_incoming_message_gives_message_and_chat_events(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    mark = events.mark()

    await harness.control.incoming(ALICE, CAROL, "ping", pushname="Carol")
    message = await events.message("1", since=mark)
    assert message["body"] == "ping" and message["fromMe"] is False
    assert message["from"] == harness.wid(CAROL) and message["chatId"] == harness.wid(CAROL)
    # A 2026-08 page gets it as a ciphertext placeholder first: the same id, nothing said yet.
    first = events.of("1", "message", mark)[0]
    assert first["id"] == message["id"]
    assert (first["type"], first["body"]) == (("ciphertext", "") if harness.lids else ("chat", "ping"))
    chat = await events.wait("1", "chat", lambda c: c["id"] == harness.wid(CAROL) and c["unreadCount"] == 1, since=mark)
    assert chat["lastMessage"]["id"] == message["id"] and chat["timestamp"] >= message["timestamp"]
    assert manager.status("1")["lastActivity"] >= message["timestamp"] - 1


async def test_two_sessions_message_each_other(harness: Harness):
    manager, events = harness.manager, harness.events
    await asyncio.gather(harness.link("alice", ALICE, "Alice"), harness.link("bob", BOB, "Bob"))

    sent = await manager.send_text("alice", f"{BOB}@c.us", "hi Bob, it's Alice")
    received = await events.message("bob", lambda m: m["body"] == "hi Bob, it's Alice")
    assert received["fromMe"] is False and received["chatId"] == harness.wid(ALICE, viewer=BOB)
    assert received["id"].split("_")[-1] == sent["id"].split("_")[-1]
    await events.wait("alice", "ack", lambda a: a["id"] == sent["id"] and a["ack"] == 2)

    await manager.send_text("bob", ALICE, "hello Alice")  # Bob's page learns Alice's LID by asking
    answer = await events.message("alice", lambda m: m["body"] == "hello Alice")
    assert answer["fromMe"] is False and answer["from"] == harness.wid(BOB) and answer["chatId"] == sent["chatId"]
    assert [c["id"] for c in await manager.chats("bob")] == [harness.wid(ALICE, viewer=BOB)]
    assert len(main_browsers(harness.profile("alice"))) == len(main_browsers(harness.profile("bob"))) == 1


async def test_stop_keeps_the_login_and_start_reconnects_without_qr(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE, "Alice")
    assert main_browsers(harness.profile("1"))

    stopped = await manager.stop("1")
    assert stopped["state"] == "STOPPED" and stopped["error"] is None
    assert not browsers_of(harness.profiles) and manager.browser_pids("1") == []
    assert manager.statuses() == {} and manager.live_count() == 0
    with pytest.raises(NotConnected):
        await manager.send_text("1", BOB, "while stopped")
    # Bob writes while the browser is closed: the message arrives once it is open again.
    sent = await harness.control.incoming(ALICE, BOB, "while you were away")
    for _ in range(100):  # delivered to Alice's phone, waiting for her web device
        if any(m["id"]["id"] == sent["id"]["id"] and m["ack"] >= 2 for m in await harness.control.messages(BOB)):
            break
        await asyncio.sleep(0.05)

    mark = events.mark()
    await manager.start("1")
    connected = await events.state("1", "CONNECTED", since=mark)
    assert connected["phone"] == ALICE and connected["pushname"] == "Alice"
    assert events.of("1", "qr", mark) == [] and "QR" not in events.states("1", mark)
    # Reported either in the sync (when the page synced before the bridge was injected) or as a
    # message event: either way, the server learns of it.
    def reported() -> list[dict]:
        synced = [m for sync in events.of("1", "sync", mark) for m in sync["messages"]]
        return [m for m in synced + events.of("1", "message", mark) if m["body"] == "while you were away"]

    [late, *_] = await eventually(reported, 10, "the message sent while stopped")
    assert late["fromMe"] is False and late["chatId"] == harness.wid(BOB)


async def test_logout_deletes_the_profile_and_the_next_start_shows_a_qr(harness: Harness):
    manager, events = harness.manager, harness.events
    await harness.link("1", ALICE)
    assert harness.profile("1").is_dir()

    status = await manager.logout("1")
    assert status["state"] == "STOPPED" and status["phone"] is None
    assert not harness.profile("1").exists()
    assert not browsers_of(harness.profiles)
    assert [d for d in await harness.control.devices() if d["phone"] == ALICE] == []  # unlinked

    mark = events.mark()
    await manager.start("1")
    assert_valid_qr((await events.wait("1", "qr", since=mark))["qr"])
    assert manager.status("1")["state"] == "QR"


async def test_logout_of_a_stopped_session_deletes_its_profile(harness: Harness):
    await harness.link("1", ALICE)
    await harness.manager.stop("1")
    assert harness.profile("1").is_dir()
    assert (await harness.manager.logout("1"))["state"] == "STOPPED"
    assert not harness.profile("1").exists()


async def test_unlinked_from_the_phone_goes_back_to_qr(harness: Harness):
    events = harness.events
    await harness.link("1", ALICE)
    mark = events.mark()

    assert await harness.control.logout(ALICE) == 1
    back = await events.state("1", "QR", since=mark)
    assert back["phone"] is None and back["pushname"] is None
    # The page navigated to /?post_logout=1: the bridge is injected again and brings a new QR.
    assert_valid_qr((await events.wait("1", "qr", since=mark))["qr"])
    assert harness.manager.status("1")["state"] == "QR"


class TestUnlinked:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, qr_interval=0.3, qr_max_refs=2)

    async def test_the_qr_is_renewed_until_the_link_timeout_then_the_session_stops(self, make_harness):
        harness = make_harness(link_timeout=3.0)
        manager, events = harness.manager, harness.events
        await manager.start("1")
        stopped = await events.state("1", "STOPPED", since=1)
        qrs = [e["qr"] for e in events.of("1", "qr")]
        # Two refs, then the page waits for a click: renewed (more than once) until the timeout.
        assert len(qrs) >= 5 and len(qrs) == len(set(qrs))
        assert stopped["error"].startswith("not linked within 3 s")
        assert not browsers_of(harness.profiles) and manager.live_count() == 0

    async def test_without_a_link_timeout_the_session_keeps_its_qr(self, make_harness):
        harness = make_harness(link_timeout=None)
        await harness.manager.start("1")
        await eventually(lambda: len(harness.events.of("1", "qr")) >= 6, 20, "six QR codes")
        assert harness.manager.status("1")["state"] == "QR" and harness.manager.live_count() == 1

    async def test_linking_ends_the_wait(self, make_harness):
        harness = make_harness(link_timeout=4.0)
        await harness.link("1", ALICE)
        await asyncio.sleep(4.5)
        assert harness.manager.status("1")["state"] == "CONNECTED"


async def test_calls_on_a_session_that_is_not_connected_raise(harness: Harness):
    with pytest.raises(NotConnected):
        await harness.manager.send_text("nobody", BOB, "hi")
    with pytest.raises(NotConnected):
        await harness.manager.chats("nobody")
    await harness.manager.start("1")
    await harness.events.wait("1", "qr")
    with pytest.raises(NotConnected):
        await harness.manager.messages("1", f"{BOB}@c.us")
    assert harness.manager.status("1")["state"] == SessionState.QR

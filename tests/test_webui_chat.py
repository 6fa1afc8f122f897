"""The chat app end to end: real Chromium on the real server, WhatsApp played by the simulator.

A user registers, starts WhatsApp and the test scans the QR code the page shows; messages come
and go live, ticks rise to read, another user in another browser sees none of it, and a socket
the server drops comes back and catches up. Screenshots land in test-artifacts/webui/.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from plugins.whatsapp.qr import qr_data_url
from tests.support.server import TEST_PASSWORD, bearer
from tests.fakewa.settings import SimSettings
from tests.support.webui import DESKTOP, PHONE, UI, artifact_prefix, scan_shown_qr
from tests.support.whatsapp import messages, status, wa_config, wait_for

ALICE, CAROL, DAVE, ERIN, FRANK = "79990000201", "79990000203", "79990000204", "79990000209", "79990000210"
CAROL_CHAT, DAVE_CHAT, ERIN_CHAT = f"{CAROL}@c.us", f"{DAVE}@c.us", f"{ERIN}@c.us"
FRANK_ROW = f".chat-row[data-chat-id='{FRANK}@c.us']"
CAROL_ROW = f".chat-row[data-chat-id='{CAROL_CHAT}']"
DAVE_ROW = f".chat-row[data-chat-id='{DAVE_CHAT}']"

# Records, in the page, every outgoing bubble as it is put in the list: the pending one first,
# then the server's message each time its ticks change.
WATCH_BUBBLES = """() => {
  window.__bubbles = [];
  const list = document.querySelector('.messages-list');
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
      if (node.classList && node.classList.contains('out')) {
        window.__bubbles.push({ id: node.dataset.id, ack: Number(node.dataset.ack), body: node.querySelector('.body').textContent });
      }
    }
  }).observe(list, { childList: true });
}"""

# Records every state the WhatsApp panel shows.
WATCH_STATES = """() => {
  window.__states = [];
  const panel = document.querySelector('.session-panel');
  new MutationObserver(() => {
    const state = panel.dataset.state;
    if (window.__states[window.__states.length - 1] !== state) window.__states.push(state);
  }).observe(panel, { attributes: true, attributeFilter: ['data-state'] });
}"""


WATCH_BANNER = """() => {
  window.__bannerShown = 0;
  const banner = document.getElementById('banner');
  new MutationObserver(() => { if (!banner.hidden) window.__bannerShown += 1; })
    .observe(banner, { attributes: true, attributeFilter: ['hidden'] });
}"""


async def drop_socket_then_go_offline(ui: UI, hub: Any, uid: int) -> None:
    """Close the user's socket from the server, and once the page has seen it close, take the
    page offline before it reconnects.

    The order matters: Chromium's offline emulation holds the frames of a socket already open
    (the server's close frame included) until the page is back online, so the close must reach
    the page first. The page retries after half a second; on a busy machine that retry can get in
    before the emulation takes hold, and then the new socket is dropped the same way."""
    for _ in range(5):
        open_now = [s for s in list(hub.sockets) if s.target_user_id == uid]
        assert len(open_now) == 1, open_now
        dropped = open_now[0]
        shown = await ui.page.evaluate("() => window.__bannerShown")
        dropped.close(1012, "server restart")
        await ui.until("(n) => window.__bannerShown > n", shown, what="the page to see its socket closed")
        await ui.page.setOfflineMode(True)
        await ui.until("() => fetch('/api/health').then(() => false, () => true)", what="the page to be offline")

        async def closed(socket: Any = dropped) -> bool:
            return socket not in hub.sockets

        await wait_for(closed, message="the server to finish closing the socket")
        if not [s for s in list(hub.sockets) if s.target_user_id == uid]:
            return
        await ui.page.setOfflineMode(False)  # the retry won the race: let it through, then again
        await ui.hidden("#banner")
    raise AssertionError("the page reconnected before it went offline, five times")


@pytest.fixture
def fakewa_settings() -> SimSettings:
    """QR codes that change every 1.5 s, so the test sees the page refresh one."""
    return SimSettings.fast(qr_interval=1.5, qr_max_refs=40)


async def bubble(ui: UI, body: str, ack: int, timeout: float = 15) -> dict:
    """Wait for the server's message (not the pending one) with this text and at least this ack."""
    return await ui.until(
        """(body, ack) => {
          const node = [...document.querySelectorAll('.msg.out')].find((n) => n.querySelector('.body').textContent === body);
          if (!node || node.dataset.id.startsWith('local-') || Number(node.dataset.ack) < ack) return null;
          const tick = node.querySelector('.ack');
          return { id: node.dataset.id, ack: Number(node.dataset.ack), tick: tick.className, label: tick.getAttribute('aria-label'),
                   color: getComputedStyle(tick).color };
        }""",
        body,
        ack,
        timeout=timeout,
        what=f"{body!r} with ack {ack}",
    )


async def test_link_whatsapp_chat_live_and_catch_up_after_a_dropped_socket(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    name = artifact_prefix(request)
    browser = await launch_browser()
    ui = await UI.open(browser, server.url, f"{name}-alice")
    await ui.register("alice", TEST_PASSWORD, "Alice Liddell")
    token = await ui.storage("wamulti.token")
    uid = json.loads(await ui.storage("wamulti.user"))["id"]
    await ui.page.evaluate(WATCH_STATES)

    # -- Start WhatsApp: the QR code shows as an image and is replaced live as new ones arrive.
    await ui.click(".session-panel [data-action=start]")
    first = await ui.until("() => document.querySelector('.qr[data-ref]')?.dataset.ref", timeout=30, what="the first QR code")
    assert first.startswith("2@") and await ui.attr(".qr-image", "src") == qr_data_url(first)
    await ui.text_of(".session-panel .state-badge", "Waiting for scan")
    await ui.text_of(".session-pill .state-badge", "Waiting for scan")
    await ui.shot("qr")
    second = await ui.until(
        "(old) => { const ref = document.querySelector('.qr[data-ref]')?.dataset.ref; return ref && ref !== old ? ref : null; }",
        first,
        timeout=10,
        what="a new QR code",
    )
    assert await ui.attr(".qr-image", "src") == qr_data_url(second)

    # -- The phone scans what the page shows: connected, with the phone's number and name.
    await scan_shown_qr(ui, fakewa, ALICE, "Alice")
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)
    await ui.text_of(".session-phone", f"+{ALICE}")
    await ui.text_of(".session-name", "Alice")
    await ui.text_of(".session-pill .state-badge", "Connected")
    assert await ui.page.evaluate("() => document.querySelector('.qr')") is None
    states = await ui.page.evaluate("() => window.__states")
    assert states[-1] == "CONNECTED" and states.index("QR") < states.index("CONNECTED"), states

    # -- Incoming messages fill the chat list live, newest first, with unread counts.
    await fakewa.incoming(ALICE, CAROL, "Hello from Carol", pushname="Carol Reyes")
    await ui.text_of(CAROL_ROW, "Hello from Carol")
    await ui.text_of(f"{CAROL_ROW} .unread", "1")
    await ui.text_of(f"{CAROL_ROW} .chat-name", "Carol Reyes")
    await fakewa.incoming(ALICE, DAVE, "Dave here", pushname="Dave Kim")
    await ui.text_of(DAVE_ROW, "Dave here")
    order = await ui.page.evaluate("() => [...document.querySelectorAll('.chat-row')].map((a) => a.dataset.chatId)")
    assert order == [DAVE_CHAT, CAROL_CHAT]

    # -- A conversation: bubbles with times; its unread badge goes once it is open.
    await ui.click(DAVE_ROW)
    await ui.text_of(".conversation .messages-list", "Dave here")
    assert await ui.page.evaluate("() => location.hash") == f"#/chat/{DAVE}%40c.us"
    assert await ui.page.evaluate(f"() => document.querySelector(\"{DAVE_ROW} .unread\")") is None
    assert await ui.attr(DAVE_ROW, "aria-current") == "page"
    assert await ui.page.evaluate("() => document.activeElement.id") == "composer-input"
    assert (await ui.text(".msg.in time")).strip()
    await ui.text_of(".conv-title", "Dave Kim")
    await ui.text_of(".conv-sub", f"+{DAVE}")

    # -- A message that is HTML shows as text: no element is made, no script runs.
    payload = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>'
    await fakewa.incoming(ALICE, DAVE, payload)
    await ui.until(
        "(p) => [...document.querySelectorAll('.msg.in .body')].some((e) => e.textContent === p)", payload, what="the HTML message as text"
    )
    await ui.text_of(f"{DAVE_ROW} .preview-text", payload)
    made = await ui.page.evaluate("() => document.querySelectorAll('#app img, #app b, #app script').length")
    assert made == 0
    assert await ui.page.evaluate("() => window.__pwned") is None
    await ui.shot("html-as-text")

    # -- The composer: Shift+Enter is a new line, Enter sends; pending at once, then the server's.
    await ui.click(CAROL_ROW)
    await ui.text_of(".conversation .messages-list", "Hello from Carol")
    await ui.page.evaluate(WATCH_BUBBLES)
    await ui.page.type("#composer-input", "Hi Carol!")
    await ui.press("Enter", shift=True)
    await ui.page.type("#composer-input", "Are we still on for tonight?")
    assert await ui.page.evaluate("() => document.querySelector('#composer-input').value") == "Hi Carol!\nAre we still on for tonight?"
    await ui.press("Enter")
    reply = "Hi Carol!\nAre we still on for tonight?"
    delivered = await bubble(ui, reply, 2)
    assert await ui.page.evaluate("() => document.querySelector('#composer-input').value") == ""
    seen = await ui.page.evaluate("() => window.__bubbles")
    assert seen[0]["id"].startswith("local-") and seen[0]["ack"] == 0 and seen[0]["body"] == reply, seen
    at_carol = [m for m in await fakewa.messages(CAROL) if m["body"] == reply]
    assert len(at_carol) == 1 and at_carol[0]["from"] == f"{ALICE}@c.us" and at_carol[0]["id"]["fromMe"] is False
    assert delivered["id"].endswith(at_carol[0]["id"]["id"])
    assert delivered["label"] == "Delivered"

    # Carol reads it on her phone: two blue ticks, without a reload; then she answers.
    await fakewa.read(CAROL, f"{ALICE}@c.us")
    read = await bubble(ui, reply, 3)
    assert read["label"] == "Read" and "ack-3" in read["tick"] and read["color"] != delivered["color"]
    seen = await ui.page.evaluate("() => window.__bubbles")
    acks = [b["ack"] for b in seen if b["body"] == reply]
    assert acks == sorted(acks) and acks[0] == 0 and acks[-1] == 3 and 2 in acks, seen
    assert len({b["id"] for b in seen if not b["id"].startswith("local-")}) == 1, "one message, never two"
    await ui.text_of(f"{CAROL_ROW} .preview-text", "You: Hi Carol!")
    assert await ui.attr(f"{CAROL_ROW} .ack", "data-ack") == "3"
    await fakewa.incoming(ALICE, CAROL, "Yes! 7 pm at the usual place.")
    await ui.text_of(".messages-list .msg.in:last-child", "Yes! 7 pm at the usual place.")
    assert await ui.page.evaluate("() => document.querySelectorAll('.msg.out').length") == 1
    await ui.shot("chat")

    # -- A new chat by phone number.
    await ui.fill("#new-chat-phone", "+7 999 000 02 09")
    await ui.press("Enter")
    await ui.until(f"() => location.hash === '#/chat/{ERIN}%40c.us'", what="the new chat to open")
    await ui.text_of(".conv-title", f"+{ERIN}")
    await ui.text_of(".conv-status", "No messages yet")
    await ui.page.type("#composer-input", "Nice to meet you")
    await ui.page.click(".composer .send")
    await bubble(ui, "Nice to meet you", 1)
    await ui.text_of(f".chat-row[data-chat-id='{ERIN_CHAT}']", "You: Nice to meet you")
    order = await ui.page.evaluate("() => [...document.querySelectorAll('.chat-row')].map((a) => a.dataset.chatId)")
    assert order == [ERIN_CHAT, CAROL_CHAT, DAVE_CHAT]

    async def erin_has_it():
        return [m for m in await fakewa.messages(ERIN) if m["body"] == "Nice to meet you"]

    await wait_for(erin_has_it, message="the message at Erin's phone")

    # -- A long chat comes a page at a time: the newest 50, then the older ones on request.
    for i in range(1, 56):
        await fakewa.incoming(ALICE, FRANK, f"frank {i}")
    await ui.text_of(f"{FRANK_ROW} .preview-text", "frank 55", timeout=30)
    await ui.text_of(f"{FRANK_ROW} .unread", "55")
    await ui.click(FRANK_ROW)
    await ui.until("() => document.querySelectorAll('.msg.in').length === 50", what="the newest 50 messages")
    assert await ui.texts(".msg.in .body") == [f"frank {i}" for i in range(6, 56)]
    await ui.click(".load-older")
    await ui.until("() => document.querySelectorAll('.msg.in').length === 55", what="the older messages")
    assert await ui.texts(".msg.in .body") == [f"frank {i}" for i in range(1, 56)]
    await ui.hidden(".load-older")

    # -- Another user in another browser sees none of it.
    other = await launch_browser()
    bob = await UI.open(other, server.url, f"{name}-bob")
    await bob.register("bob", TEST_PASSWORD)
    await bob.text_of(".session-panel .state-badge", "Stopped")
    await bob.visible(".chats .empty")
    await fakewa.incoming(ALICE, CAROL, "Only for Alice")
    await ui.text_of(CAROL_ROW, "Only for Alice")
    await bob.page.evaluate(f"() => {{ location.hash = '#/chat/{CAROL}%40c.us'; }}")
    await bob.text_of(".conv-status", "No messages yet")
    seen_by_bob = await bob.page.evaluate("() => document.body.innerText")
    for secret in ("Hello from Carol", "Only for Alice", "Hi Carol", "Dave here", "Carol Reyes", "Alice", ALICE):
        assert secret not in seen_by_bob, secret
    assert await bob.page.evaluate("() => document.querySelectorAll('.chat-row, .msg').length") == 0
    await bob.shot("nothing-of-alice")
    bob.assert_clean()

    # -- The server drops Alice's socket; the page shows it has lost the connection. While it
    # cannot get back (offline), a message arrives and is published to nobody.
    await ui.click(CAROL_ROW)
    await ui.text_of(".messages-list", "Only for Alice")
    hub = server.app.state["websocket"]
    await ui.page.evaluate(WATCH_BANNER)
    await drop_socket_then_go_offline(ui, hub, uid)
    await ui.visible("#banner")
    await ui.text_of("#banner", "Reconnecting…")
    assert await ui.attr(".conn", "data-conn") == "reconnecting"
    await ui.shot("reconnecting")
    await fakewa.incoming(ALICE, CAROL, "Sent while you were away")

    async def stored():
        return [m for m in await messages(server, token, uid, CAROL_CHAT) if m["body"] == "Sent while you were away"]

    await wait_for(stored, message="the message stored")
    await asyncio.sleep(0.3)  # its event is published right after it is stored
    assert not [s for s in hub.sockets if s.target_user_id == uid]
    assert "Sent while you were away" not in await ui.page.evaluate("() => document.body.innerText")

    # Back online: the socket returns by itself and the views catch up from REST.
    await ui.page.setOfflineMode(False)
    await ui.hidden("#banner", timeout=20)
    assert await ui.attr(".conn", "data-conn") == "open"
    await ui.text_of(".messages-list", "Sent while you were away")
    await ui.text_of(f"{CAROL_ROW} .preview-text", "Sent while you were away")
    assert len([s for s in hub.sockets if s.target_user_id == uid]) == 1
    await fakewa.incoming(ALICE, DAVE, "Live again")
    await ui.text_of(DAVE_ROW, "Live again")
    await ui.text_of(f"{DAVE_ROW} .unread", "1")  # what was seen in Dave's chat is not counted

    # -- A reload keeps the user signed in, the open chat open, and what was already seen.
    await ui.reload()
    await ui.text_of(".conversation .messages-list", "Sent while you were away")
    await ui.text_of(f"{DAVE_ROW} .unread", "1")
    assert await ui.page.evaluate("() => document.querySelectorAll('.unread').length") == 1

    # -- A phone-sized screen shows one pane at a time, with a way back.
    await ui.page.setViewport(PHONE)
    await ui.visible(".conversation .messages-list")
    await ui.hidden(".sidebar")
    await ui.visible(".conv-head .back")
    await ui.shot("phone-chat")
    await ui.click(".conv-head .back")
    await ui.visible(".sidebar")
    await ui.hidden(".conversation-pane")
    assert await ui.page.evaluate("() => document.activeElement.dataset.chatId") == CAROL_CHAT
    await ui.shot("phone-list")
    await ui.page.setViewport(DESKTOP)

    # -- Stop, start (the login is kept: no QR), restart, and clear after a confirmation.
    await ui.page.evaluate(WATCH_STATES)
    await ui.click(".session-panel [data-action=stop]")
    await ui.text_of(".session-panel .state-badge", "Stopped", timeout=20)
    await ui.click(".session-panel [data-action=start]")
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)
    await ui.page.evaluate("() => { window.__states = []; }")
    await ui.click(".session-panel [data-action=restart]")
    await ui.until(
        "() => window.__states.some((s) => s !== 'CONNECTED') && window.__states[window.__states.length - 1] === 'CONNECTED'",
        timeout=30,
        what="connected again after the restart",
    )
    states = await ui.page.evaluate("() => window.__states")
    assert "QR" not in states, states
    await ui.click(".session-panel [data-action=clear]")
    await ui.visible("dialog[open]")
    await ui.text_of("dialog[open] h2", "Clear the WhatsApp session?")
    await ui.click("dialog[open] .button:not(.danger)")
    await ui.hidden("dialog[open]")
    assert (await status(server, token, uid))["state"] == "CONNECTED"
    await ui.click(".session-panel [data-action=clear]")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".session-panel .state-badge", "Stopped", timeout=20)
    assert (await status(server, token, uid))["state"] == "STOPPED"
    assert await ui.page.evaluate("() => document.querySelectorAll('.chat-row').length") == 4, "stored chats stay"
    assert (await server.client.get(f"/api/whatsapp/status/{uid}", headers=bearer(token))).json()["phone"] in (None, "")
    ui.assert_clean()

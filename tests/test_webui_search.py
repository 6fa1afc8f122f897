"""The search above the chat list, in real Chromium on the real server, on both databases.

Typing filters the chats by name (Cyrillic or Latin, in any letter case) or number, and lists
the messages holding the words, a page at a time, each with its chat, a snippet with the words
marked (as text: a message that is HTML stays text) and its time. A hit opens its chat at that
message, loading older pages to reach it. Escape clears. All of it works while WhatsApp is
stopped: both lists come from the database.
"""
from __future__ import annotations

import json

import pytest

from tests.support.server import TEST_PASSWORD, bearer
from tests.support.webui import UI, artifact_prefix, link_whatsapp
from tests.support.whatsapp import wa_config

pytestmark = pytest.mark.browser

ALICE, ANNA, BOB, PLAIN = "79990000601", "79990000602", "79990000603", "79990000609"
ANNA_CHAT, BOB_CHAT, PLAIN_CHAT = f"{ANNA}@c.us", f"{BOB}@c.us", f"{PLAIN}@c.us"
FILLERS = 60  # newer than the message looked for: it is past the first page of 50
SECRET = "The secret word is <b>pineapple</b>"

ROWS = "() => [...document.querySelectorAll('.chat-row')].map((a) => a.dataset.chatId)"
HITS = """() => [...document.querySelectorAll('.search-hit')].map((b) => ({
  chat: b.dataset.chatId, id: b.dataset.messageId, name: b.querySelector('.hit-chat').textContent,
  text: b.querySelector('.hit-text').textContent, marks: [...b.querySelectorAll('mark')].map((m) => m.textContent),
  time: b.querySelector('.hit-time').textContent }))"""


async def search(ui: UI, text: str) -> None:
    """Type ``text`` into the search box as a person would (it replaces what was there)."""
    await ui.page.evaluate("() => { const e = document.querySelector('#chat-search'); e.value = ''; e.focus(); }")
    await ui.page.type("#chat-search", text)


async def rows_are(ui: UI, expected: list[str]) -> None:
    await ui.until(f"(want) => JSON.stringify(({ROWS})()) === JSON.stringify(want)", expected, what=f"the chat rows {expected}")


async def hits_are(ui: UI, count: int, query: str) -> list[dict]:
    """The hits once ``count`` are shown for ``query`` (the search has answered)."""
    await ui.until(
        "([n, q]) => { const section = document.querySelector('.search-hits');"
        " return !section.hidden && section.dataset.query === q && document.querySelector('#chat-search').value === q"
        " && document.querySelectorAll('.search-hit').length === n; }",
        [count, query],
        what=f"{count} hits for {query!r}",
    )
    return await ui.page.evaluate(HITS)


async def shown_at(ui: UI, message_id: str) -> None:
    """The conversation shows this message in view, focused."""
    await ui.until(
        """(id) => {
          const node = document.querySelector(`.msg[data-id="${CSS.escape(id)}"]`);
          if (!node || document.activeElement !== node) return false;
          const r = node.getBoundingClientRect(), s = document.querySelector('.messages').getBoundingClientRect();
          return r.top >= s.top - 1 && r.bottom <= s.bottom + 1;
        }""",
        message_id,
        timeout=30,
        what=f"message {message_id} in view and focused",
    )


async def test_search_chats_and_messages_and_open_a_hit_even_while_stopped(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    ui = await UI.open(await launch_browser(), server.url, artifact_prefix(request))
    await ui.register("alice", TEST_PASSWORD)
    token = await ui.storage("wamulti.token")
    uid = json.loads(await ui.storage("wamulti.user"))["id"]
    await link_whatsapp(ui, fakewa, ALICE, "Alice")

    await fakewa.incoming(ALICE, ANNA, "Привет! Как дела в Москве?", pushname="Анна Каренина")
    await ui.text_of(f".chat-row[data-chat-id='{ANNA_CHAT}'] .chat-name", "Анна Каренина")
    sent = await server.client.post(f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": ANNA, "message": "Встреча в пятницу, привет семье"})
    assert sent.status_code == 201, sent.text
    await fakewa.incoming(ALICE, PLAIN, "Numbers only here")
    await fakewa.incoming(ALICE, BOB, SECRET, pushname="Bob Stone")
    await fakewa.incoming(ALICE, BOB, "Hello from London")
    for i in range(1, FILLERS + 1):
        await fakewa.incoming(ALICE, BOB, f"filler {i}")
    await ui.text_of(f".chat-row[data-chat-id='{BOB_CHAT}'] .preview-text", f"filler {FILLERS}", timeout=60)
    await rows_are(ui, [BOB_CHAT, PLAIN_CHAT, ANNA_CHAT])

    # A chat by its Cyrillic name in another letter case; no message holds the word.
    await search(ui, "анна")
    await rows_are(ui, [ANNA_CHAT])
    await hits_are(ui, 0, "анна")
    await ui.text_of(".search-status", "No messages found.")
    # Escape clears: every chat again, no hits.
    await ui.press("Escape")
    await rows_are(ui, [BOB_CHAT, PLAIN_CHAT, ANNA_CHAT])
    assert await ui.page.evaluate("() => document.querySelector('#chat-search').value") == ""
    await ui.hidden(".search-hits")

    # Messages by a Cyrillic word in capitals: the incoming one and the user's own, newest first.
    await search(ui, "ПРИВЕТ")
    found = await hits_are(ui, 2, "ПРИВЕТ")
    await ui.text_of(".chats .empty", "No chats found.")
    assert [h["chat"] for h in found] == [ANNA_CHAT, ANNA_CHAT], found
    assert found[0]["text"] == "You: Встреча в пятницу, привет семье" and found[0]["marks"] == ["привет"], found
    assert found[1]["text"] == "Привет! Как дела в Москве?" and found[1]["marks"] == ["Привет"], found
    assert all(h["name"] == "Анна Каренина" and h["time"] for h in found), found
    await ui.shot("cyrillic")

    # A chat by its number, written as people write numbers; by a Latin name.
    await search(ui, "+7 (999) 000-06-09")
    await rows_are(ui, [PLAIN_CHAT])
    await search(ui, "STONE")
    await rows_are(ui, [BOB_CHAT])

    # Many hits come a page at a time.
    await search(ui, "filler")
    first = await hits_are(ui, 20, "filler")
    await ui.text_of(".search-status", f"{FILLERS} messages found")
    assert [h["text"] for h in first] == [f"filler {i}" for i in range(FILLERS, FILLERS - 20, -1)]
    assert all(h["marks"] == ["filler"] for h in first)
    await ui.click(".more-hits")
    await hits_are(ui, 40, "filler")
    await ui.click(".more-hits")
    every = await hits_are(ui, FILLERS, "filler")
    assert len({h["id"] for h in every}) == FILLERS
    await ui.hidden(".more-hits")

    # A hit far back opens its chat at that message; HTML in it stays text.
    await search(ui, "pineapple")
    (hit,) = await hits_are(ui, 1, "pineapple")
    assert hit["chat"] == BOB_CHAT and hit["name"] == "Bob Stone" and hit["text"] == SECRET and hit["marks"] == ["pineapple"], hit
    assert await ui.page.evaluate("() => document.querySelectorAll('.search-hits b, .search-hits script').length") == 0
    await ui.click(".search-hit")
    await ui.until(f"() => location.hash === '#/chat/{BOB}%40c.us'", what="Bob's chat to open")
    await shown_at(ui, hit["id"])
    await ui.text_of(f'.msg[data-id="{hit["id"]}"] .body', SECRET)
    assert await ui.page.evaluate("() => document.querySelectorAll('.messages .msg').length") > 50  # an older page came
    await ui.shot("hit-opened")

    # Stopped: the search still answers from the database, and a hit in the open chat shows.
    await ui.click(".session-panel [data-action=stop]")
    await ui.text_of(".session-panel .state-badge", "Stopped", timeout=20)
    await search(ui, "hello london")
    (hello,) = await hits_are(ui, 1, "hello london")
    assert hello["chat"] == BOB_CHAT and hello["text"] == "Hello from London" and hello["marks"] == ["Hello", "London"], hello
    await ui.click(".search-hit")
    await shown_at(ui, hello["id"])
    await search(ui, "numbers")
    await rows_are(ui, [])
    (numbers,) = await hits_are(ui, 1, "numbers")
    await ui.click(".search-hit")
    await ui.until(f"() => location.hash === '#/chat/{PLAIN}%40c.us'", what="the chat of the number to open")
    await shown_at(ui, numbers["id"])
    await ui.shot("stopped")
    ui.assert_clean()

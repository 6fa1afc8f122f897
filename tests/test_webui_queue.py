"""Typing fast never loses a message: in real Chromium on the real server, on both databases.

The server's queue for the session is tiny (2 places) and slow (4 messages a second), and an
integration keeps it full with its own sends over REST, so the page's sends are refused (429).
The user types 15 messages quickly: they wait in the page, go out one at a time, wait and try
again by themselves when refused; all 15 reach the phone, in order, none twice, and the page
never asks the user to retry or discard one.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.support.server import TEST_PASSWORD, bearer
from tests.support.webui import UI, artifact_prefix, link_whatsapp
from tests.support.whatsapp import wa_config, wait_for

pytestmark = pytest.mark.browser

ALICE, BOB, DAVE = "79990000701", "79990000702", "79990000703"
BURST = [f"burst {i:02d}" for i in range(1, 16)]
INTEGRATION_WORKERS = 4  # one more than the queue holds with the message on its way: always full
MAX_INTEGRATION_SENDS = 400

# Records, in the page, what each outgoing bubble went through, and every "retry / discard".
WATCH_SENDS = """() => {
  window.__states = [];
  window.__failures = [];
  const list = document.querySelector('.messages-list');
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
      if (!node.classList || !node.classList.contains('out')) continue;
      window.__states.push({ body: node.querySelector('.body').textContent, state: node.dataset.sendState || 'sent',
                             clock: !!node.querySelector('.ack .icon-clock'), label: node.querySelector('.ack')?.getAttribute('aria-label') });
      if (node.querySelector('.send-error')) window.__failures.push(node.querySelector('.send-error').textContent);
    }
  }).observe(list, { childList: true });
}"""


async def integration(server: Any, token: str, uid: int, stop: asyncio.Event, tally: dict[str, int]) -> None:
    """Another client of the same session (an integration with the user's token) sending as fast
    as it may: each send waits for the previous one; a 429 waits its Retry-After."""
    while not stop.is_set() and tally["attempts"] < MAX_INTEGRATION_SENDS:
        tally["attempts"] += 1
        response = await server.client.post(
            f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": DAVE, "message": f"integration {tally['attempts']}"}
        )
        if response.status_code == 429:
            tally["refused"] += 1
            await asyncio.sleep(float(response.headers["Retry-After"]))
        else:
            assert response.status_code == 201, response.text


async def test_a_burst_typed_into_a_full_queue_arrives_whole_and_in_order(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa, send_queue=2, send_rate={"per_minute": 240, "burst": 1, "jitter_seconds": 0}))
    ui = await UI.open(await launch_browser(), server.url, artifact_prefix(request))
    await ui.register("alice", TEST_PASSWORD)
    token = await ui.storage("wamulti.token")
    uid = json.loads(await ui.storage("wamulti.user"))["id"]
    await link_whatsapp(ui, fakewa, ALICE, "Alice")
    await ui.fill("#new-chat-phone", f"+{BOB}")
    await ui.press("Enter")
    await ui.until("() => document.querySelector('.composer .send') && !document.querySelector('.composer .send').disabled",
                   what="the composer ready")
    await ui.page.evaluate(WATCH_SENDS)

    # The integration fills the session's queue: a send of its own is refused now and then.
    stop, tally = asyncio.Event(), {"attempts": 0, "refused": 0}
    workers = [asyncio.create_task(integration(server, token, uid, stop, tally)) for _ in range(INTEGRATION_WORKERS)]
    try:
        async def queue_full() -> bool:
            return tally["refused"] > 0

        await wait_for(queue_full, message="the session's queue to be full")

        for body in BURST:
            await ui.page.type("#composer-input", body)
            await ui.press("Enter")
        # The page's sends were refused too (their bubbles waited), and went on waiting by themselves.
        await ui.until("() => window.__states.some((s) => s.state === 'waiting')", timeout=60, what="a send of the page refused")
        waiting = await ui.page.evaluate("() => window.__states.find((s) => s.state === 'waiting')")
        assert waiting["clock"] and waiting["label"].startswith("Waiting to send"), waiting
        await ui.shot("waiting")
    finally:
        stop.set()
        await asyncio.gather(*workers)

    # Every bubble settles: the page's outbox is empty, nothing asks to retry or discard.
    await ui.until(
        "(n) => document.querySelectorAll('.msg.out:not(.pending)').length === n && !document.querySelector('.msg.pending')",
        len(BURST),
        timeout=120,
        what="every message sent",
    )
    assert await ui.texts(".msg.out .body") == BURST
    assert await ui.page.evaluate("() => window.__failures") == []
    assert await ui.page.evaluate("() => document.querySelectorAll('.send-error, .msg.failed').length") == 0
    states = await ui.page.evaluate("() => window.__states")
    assert all(s["clock"] for s in states if s["state"] in ("queued", "sending", "waiting")), states

    # At the phone: all 15, in the order typed, each once.
    async def arrived() -> list[str] | None:
        bodies = [m["body"] for m in await fakewa.messages(BOB) if m["body"].startswith("burst ")]
        return bodies if len(bodies) >= len(BURST) else None

    assert await wait_for(arrived, timeout=60, message="the burst at Bob's phone") == BURST
    await ui.shot("sent")
    ui.assert_clean()

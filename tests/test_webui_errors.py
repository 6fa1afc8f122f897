"""Errors meant for the operator are not shown to end users: in real Chromium on the real
server, on both databases.

The server answers a start it cannot serve (every session place taken, `whatsapp.max_sessions`)
with a 503 whose message is for the operator. A user sees a plain sentence instead; an admin
sees the same sentence and the server's words after it.
"""
from __future__ import annotations

import pytest

from tests.support.server import TEST_PASSWORD, bearer
from tests.support.webui import UI, artifact_prefix
from tests.support.whatsapp import link, wa_config, wait_state

pytestmark = pytest.mark.browser

PLAIN = "WhatsApp can't start right now; try again later."
DETAIL = "Details for administrators: "
ALICE, BOB = "79990000001", "79990000002"


async def test_a_full_server_is_a_plain_sentence_for_users_and_a_detail_for_admins(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa, max_sessions=1))
    holder_token, holder = await server.register("holder")
    started = await server.client.post(f"/api/whatsapp/start/{holder['id']}", headers=bearer(holder_token))
    assert started.status_code == 202, started.text
    await wait_state(server, holder_token, holder["id"], "QR")
    carol_token, carol = await server.register("carol")
    refused = await server.client.post(f"/api/whatsapp/start/{carol['id']}", headers=bearer(carol_token))
    assert refused.status_code == 503, refused.text
    operator_words = refused.json()["error"]["message"]
    assert operator_words and PLAIN not in operator_words
    await server.admin("boss")
    name = artifact_prefix(request)

    # An ordinary user: the plain sentence, none of the server's words.
    ui = await UI.open(await launch_browser(), server.url, f"{name}-carol")
    await ui.sign_in("carol", TEST_PASSWORD)
    await ui.click(".session-panel [data-action=start]")
    await ui.text_of(".session-panel .form-error", PLAIN)
    shown = await ui.text(".session-panel .form-error")
    assert shown == PLAIN, shown
    page = await ui.page.evaluate("() => document.body.innerText")
    assert operator_words not in page and "max_sessions" not in page and DETAIL not in page
    await ui.text_of(".session-panel .state-badge", "Stopped")
    await ui.shot("user")
    ui.assert_clean()

    # An administrator: the same sentence, and the detail.
    admin = await UI.open(await launch_browser(), server.url, f"{name}-boss")
    await admin.sign_in("boss", TEST_PASSWORD)
    await admin.click(".session-panel [data-action=start]")
    await admin.text_of(".session-panel .form-error", DETAIL)
    assert await admin.text(".session-panel .form-error") == f"{PLAIN} {DETAIL}{operator_words}"
    await admin.shot("admin")
    admin.assert_clean()


async def test_a_reach_out_timelock_is_shown_by_the_composer_until_it_is_lifted(make_server, fakewa, launch_browser, request):
    """WhatsApp refusing new chats for a while (the session status's ``limits``) is said next to
    the composer, with the time it ends; lifted, the notice goes."""
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("newcomer")
    await link(server, fakewa, token, user["id"], ALICE, "Alice")
    await fakewa.incoming(ALICE, BOB, "hi, we talked before", pushname="Bob")
    ui = await UI.open(await launch_browser(), server.url, artifact_prefix(request))
    await ui.sign_in("newcomer", TEST_PASSWORD)
    await ui.click(f".chat-row[data-chat-id='{BOB}@c.us']")
    await ui.visible("#composer-input")
    assert await ui.until("() => document.querySelector('#composer-limit').hidden") is True

    await fakewa.timelock(ALICE, 600)
    await ui.visible("#composer-limit")
    shown = await ui.text("#composer-limit")
    assert shown.startswith("WhatsApp limits messages to new chats until ") and "Chats you already have work" in shown, shown
    await ui.shot("timelock")
    await fakewa.timelock(ALICE, 0)
    await ui.hidden("#composer-limit")
    ui.assert_clean()

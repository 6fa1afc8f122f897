"""Linking WhatsApp in the chat app, in real Chromium on the real server, on both databases.

While the session waits to be linked, the QR code fills the main pane (not the sidebar, not
behind "Pick a chat"), big and crisp enough to scan; or, instead, the user asks for a pairing
code for their phone number and types it on the phone (here the simulator's phone, through its
control API): the session connects with no QR scanned. A code that runs out is renewed by
WhatsApp, then expires, and the page offers a new one. Screenshots land in test-artifacts/webui/.
"""
from __future__ import annotations

import re

import pytest

from tests.fakewa.settings import SimSettings
from tests.support.server import TEST_PASSWORD
from tests.support.webui import DESKTOP, PHONE, UI, artifact_prefix, pair_shown_code, rect, scan_shown_qr
from tests.support.whatsapp import wa_config

pytestmark = pytest.mark.browser

ALICE, BOB, NOBODY = "79990000501", "79990000502", "79995550000"
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")  # as WhatsApp writes them
QR_MIN_PX = 264

# Every pairing code the page puts on the screen, in order.
WATCH_CODES = """() => {
  window.__codes = [];
  const seen = (node) => {
    const code = node.matches && node.matches('.pair-code') ? node.dataset.code : null;
    if (code && window.__codes[window.__codes.length - 1] !== code) window.__codes.push(code);
  };
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
      seen(node);
      if (node.querySelectorAll) node.querySelectorAll('.pair-code').forEach(seen);
    }
  }).observe(document.querySelector('.conversation-pane'), { childList: true, subtree: true });
}"""


@pytest.fixture
def fakewa_settings(request: pytest.FixtureRequest) -> SimSettings:
    """Pairing codes that live 30 s unless a test asks for shorter ones (indirect parameter)."""
    return SimSettings.fast(pair_code_ttl=getattr(request, "param", 30.0))


async def start_and_show_qr(ui: UI) -> str:
    """Press Start in the WhatsApp panel; the QR code's payload once the main pane shows it."""
    await ui.click(".session-panel [data-action=start]")
    return await ui.until(
        "() => document.querySelector('.conversation-pane .qr[data-ref]')?.dataset.ref", timeout=30, what="the QR code in the main pane"
    )


async def test_the_qr_code_is_big_in_the_main_pane_until_the_phone_scans_it(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    ui = await UI.open(await launch_browser(), server.url, artifact_prefix(request))
    await ui.register("alice", TEST_PASSWORD)
    await ui.text_of(".conversation-pane", "Pick a chat")  # stopped: nothing to link yet

    await start_and_show_qr(ui)
    await ui.until("() => document.querySelector('.conversation-pane .qr-image').complete", what="the QR image loaded")
    box = await rect(ui, ".conversation-pane .qr-image")
    assert box["width"] >= QR_MIN_PX and box["height"] >= QR_MIN_PX, box
    assert abs(box["width"] - box["height"]) < 1, box
    assert await ui.page.evaluate("() => getComputedStyle(document.querySelector('.qr-image')).imageRendering") == "pixelated"
    assert await ui.page.evaluate("() => document.querySelectorAll('.qr').length") == 1
    assert await ui.page.evaluate("() => document.querySelector('.sidebar .qr')") is None
    shown = await ui.page.evaluate("() => document.body.innerText")
    assert "Pick a chat" not in shown and "Linked devices" in shown
    await ui.text_of(".session-panel", "scan the QR code")
    await ui.visible(".link-by-phone")
    await ui.shot("qr-main-pane")

    # On a phone-sized screen the code is as large, and fits.
    await ui.page.setViewport(PHONE)
    await ui.visible(".conversation-pane .qr-image")
    box = await rect(ui, ".conversation-pane .qr-image")
    assert box["width"] >= QR_MIN_PX and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    await ui.shot("qr-phone")
    await ui.page.setViewport(DESKTOP)

    # A chat opened meanwhile takes the main pane; the WhatsApp panel leads back to the code.
    await ui.fill("#new-chat-phone", f"+{BOB}")
    await ui.press("Enter")
    await ui.visible(".conversation .composer")
    assert await ui.page.evaluate("() => document.querySelector('.qr')") is None
    await ui.click(".session-panel .show-link-pane")
    await ui.visible(".conversation-pane .qr[data-ref] .qr-image")

    # The phone scans it: connected, and the main pane is the chats' again.
    await scan_shown_qr(ui, fakewa, ALICE, "Alice")
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)
    await ui.text_of(".conversation-pane", "Pick a chat")
    assert await ui.page.evaluate("() => document.querySelectorAll('.qr, .link-pane').length") == 0
    ui.assert_clean()


async def test_linking_with_a_phone_number_shows_a_code_to_type_on_the_phone(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    await fakewa.phone_join(ALICE, "Alice")
    ui = await UI.open(await launch_browser(), server.url, artifact_prefix(request))
    await ui.register("alice", TEST_PASSWORD)
    await start_and_show_qr(ui)

    await ui.click(".link-by-phone")
    await ui.visible("#pair-phone")
    assert await ui.page.evaluate("() => document.activeElement.id") == "pair-phone"

    # The page checks the number by the server's rule before asking.
    await ui.fill("#pair-phone", "12")
    await ui.press("Enter")
    await ui.text_of("#pair-phone-error", "country code first")
    assert await ui.attr("#pair-phone", "aria-invalid") == "true"
    assert await ui.page.evaluate("() => document.querySelector('.pair-code')") is None

    # A number WhatsApp gives no code for: the server's refusal, in plain words.
    await ui.fill("#pair-phone", f"+{NOBODY}")
    await ui.press("Enter")
    await ui.text_of("#pair-phone-error", "WhatsApp gave no code for this number", timeout=30)
    assert "Details for administrators" not in await ui.text("#pair-phone-error")

    # Back to the QR code and forth again: the number typed stays.
    await ui.click(".pair-form + .back-to-qr")
    await ui.visible(".conversation-pane .qr[data-ref]")
    await ui.click(".link-by-phone")
    await ui.fill("#pair-phone", f"+7 (999) 000-05-{ALICE[-2:]}")
    await ui.press("Enter")

    code = await ui.until("() => document.querySelector('.pair-code')?.dataset.code", timeout=30, what="the pairing code")
    assert CODE.match(code), code
    assert await ui.text(".pair-code") == code
    await ui.text_of(".pair-for", f"+{ALICE}")
    await ui.text_of(".link-steps", "Linked devices")
    await ui.text_of(".link-steps", "Link with phone number instead")
    assert await ui.page.evaluate("() => document.querySelector('.qr')") is None
    first = await ui.until("() => document.querySelector('.pair-countdown')?.dataset.left", what="a countdown")
    assert re.match(r"^\d+:\d\d$", first), first
    await ui.until("(t) => { const left = document.querySelector('.pair-countdown')?.dataset.left; return left && left !== t; }", first,
                   what="the countdown to move")
    await ui.text_of(".pair-countdown", "The code works for")
    await ui.shot("pairing-code")

    # The phone types it in: connected, no QR scanned; the main pane is the chats'.
    assert await pair_shown_code(ui, fakewa, ALICE, "Alice") == code
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)
    await ui.text_of(".session-phone", f"+{ALICE}")
    await ui.text_of(".conversation-pane", "Pick a chat")
    assert await ui.page.evaluate("() => document.querySelectorAll('.link-pane, .pair-code').length") == 0
    devices = [d for d in await fakewa.devices() if d["phone"] == ALICE]
    assert len(devices) == 1 and devices[0]["online"], devices
    await ui.shot("linked-by-code")
    ui.assert_clean()


@pytest.mark.parametrize("fakewa_settings", [1.0], indirect=True, ids=["codes-of-1s"])
async def test_codes_are_renewed_then_expire_and_a_new_one_can_be_asked_for(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    await fakewa.phone_join(ALICE, "Alice")
    ui = await UI.open(await launch_browser(), server.url, artifact_prefix(request))
    await ui.register("alice", TEST_PASSWORD)
    await start_and_show_qr(ui)
    await ui.page.evaluate(WATCH_CODES)
    await ui.click(".link-by-phone")
    await ui.fill("#pair-phone", f"+{ALICE}")
    await ui.press("Enter")

    # WhatsApp replaces the code a few times (each shows as it comes), then stops: expired.
    await ui.text_of(".pair-problem", "The code expired — get a new code.", timeout=40)
    codes = await ui.page.evaluate("() => window.__codes")
    assert len(codes) >= 2 and len(set(codes)) == len(codes) and all(CODE.match(c) for c in codes), codes
    assert await ui.page.evaluate("() => document.querySelector('.pair-code.ended') && !document.querySelector('.pair-countdown')")
    await ui.shot("code-expired")

    await ui.click(".new-code")
    fresh = await ui.until(
        "(old) => { const c = document.querySelector('.pair-code:not(.ended)')?.dataset.code; return c && !old.includes(c) ? c : null; }",
        codes,
        timeout=30,
        what="a new code",
    )
    assert CODE.match(fresh)
    await pair_shown_code(ui, fakewa, ALICE, "Alice")
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)
    await ui.text_of(".conversation-pane", "Pick a chat")
    ui.assert_clean()

"""Accessibility of every page of the web app, in real Chromium on the real server, on both
databases: axe-core (the npm package, injected from node_modules) finds no serious or critical
violation, and Tab alone reaches every control, for a user and for an admin, in English and in
Russian. Screenshots land in test-artifacts/webui/ (axe-*.png).
"""
from __future__ import annotations

import pytest

from tests.support.axe import assert_accessible, assert_keyboard_reaches_everything
from tests.support.pages import choose_language, go, make_article, make_product
from tests.support.server import TEST_PASSWORD, bearer
from tests.support.webui import UI, artifact_prefix, scan_shown_qr
from tests.support.whatsapp import wa_config, wait_state

pytestmark = pytest.mark.browser

ME, FRIEND = "79990000701", "79990000702"


async def check(ui: UI, what: str, *, keyboard: bool = True) -> None:
    await assert_accessible(ui, what)
    if keyboard:
        await assert_keyboard_reaches_everything(ui, what)


async def english(ui: UI) -> None:
    await ui.page.evaluate("() => localStorage.setItem('wamulti.lang', 'en')")
    await ui.reload()


async def test_every_page_of_a_user_passes_axe_and_the_keyboard(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    admin_token, _ = await server.admin("boss")
    icon = f"{server.url}/static/webui/icon.svg"
    await make_product(server, admin_token, name="Coffee mug", description="Holds coffee", price="7.50", points=15, image=icon)
    await make_product(server, admin_token, name="Sticker", price="0.99", points=0)
    article = await make_article(server, admin_token, title="Opening hours", content="We open at nine.\n\nWe close at six.", image=icon)

    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await english(ui)
    await ui.visible("#signin-username")
    await check(ui, "sign-in")
    await go(ui, "#/register", "#register-username")
    await check(ui, "register")
    await ui.register("reader", TEST_PASSWORD, "Rita Reader")
    await ui.visible(".conn[data-conn=open]")
    await check(ui, "chats")

    # The QR code in the main pane, then a conversation.
    await ui.click(".session-panel [data-action=start]")
    await ui.visible(".qr[data-ref]", timeout=30)
    await check(ui, "linking", keyboard=False)  # the code changes under the walk; the panel's are checked above
    await scan_shown_qr(ui, fakewa, ME, "Rita")
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)
    await fakewa.incoming(ME, FRIEND, "Hello from a friend", pushname="Frank")
    await ui.click(f".chat-row[data-chat-id='{FRIEND}@c.us']")
    await ui.visible(".msg")
    await check(ui, "conversation")

    # The user's pages.
    await go(ui, "#/catalog", ".product-card .card-image[data-state=loaded]")
    await check(ui, "catalog")
    await ui.click(".product-card .buy")
    await ui.text_of(".catalog-status", "You bought")
    await go(ui, "#/profile", ".points-table")
    await ui.visible(".orders-table")
    await check(ui, "profile")
    await go(ui, "#/articles", ".article-card")
    await check(ui, "articles")
    await go(ui, f"#/articles/{article['id']}", ".article-text")
    await check(ui, "article")

    # In Russian too.
    await choose_language(ui, "ru")
    await ui.visible(".article-text")
    await check(ui, "article-ru")
    await go(ui, "#/profile", ".points-table")
    await check(ui, "profile-ru")
    ui.assert_clean()


async def test_every_page_of_an_admin_passes_axe_and_the_keyboard(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    admin_token, _ = await server.admin("boss")
    carol_token, carol = await server.register("carol", fullName="Carol Reyes")
    icon = f"{server.url}/static/webui/icon.svg"
    mug = await make_product(server, admin_token, name="Coffee mug", price="7.50", points=15, image=icon)
    await make_article(server, admin_token, title="Opening hours", content="We open at nine.")
    await server.client.post("/api/orders", json={"productId": mug["id"]}, headers=bearer(carol_token))
    assert (await server.client.post(f"/api/whatsapp/start/{carol['id']}", headers=bearer(carol_token))).status_code == 202
    await wait_state(server, carol_token, carol["id"], "QR")

    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await english(ui)
    await ui.sign_in("boss", TEST_PASSWORD)
    await ui.visible(".chats-page")
    await go(ui, "#/admin/users", ".users-table tbody tr")
    await check(ui, "users")
    await go(ui, f"#/admin/users/{carol['id']}", ".user-page .orders-table")
    await ui.visible(".user-page .points-table")
    await check(ui, "user")
    await ui.click(".orders-table .cancel-order")
    await ui.visible("dialog[open]")
    await check(ui, "confirm-cancel")
    await ui.press("Escape")
    await go(ui, "#/admin/sessions", ".sessions-table tbody tr")
    await check(ui, "sessions")
    await go(ui, "#/admin/stats", ".sessions-chart")
    await check(ui, "stats")

    # The editors, with an image previewed.
    await go(ui, "#/catalog", ".product-card")
    await ui.click("#new-product")
    await ui.fill("#product-editor-image", icon)
    await ui.visible("#product-editor .image-preview[data-state=loaded]")
    await check(ui, "product-editor")
    await go(ui, "#/articles", ".article-card")
    await ui.click("#new-article")
    await check(ui, "article-editor")

    await choose_language(ui, "ru")
    await ui.visible("#article-editor, .article-card")
    await go(ui, "#/admin/stats", ".sessions-chart")
    await check(ui, "stats-ru")
    await go(ui, f"#/admin/users/{carol['id']}", ".user-page .orders-table")
    await check(ui, "user-ru")
    ui.assert_clean()

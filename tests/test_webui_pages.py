"""The pages beyond chat, in real Chromium on the real server, on both databases: a user's
catalog (buy, and the points arrive), articles and profile (name, password, points and their
history, orders); an admin's product and article editors, users' points and orders, the
sessions' actions and the stats.

Screenshots land in test-artifacts/webui/.
"""
from __future__ import annotations

import pytest

from tests.support.pages import go, make_article, make_product, nav, rows
from tests.support.server import TEST_PASSWORD, bearer
from tests.support.webui import PHONE, UI, artifact_prefix
from tests.support.whatsapp import status, wa_config, wait_state

pytestmark = pytest.mark.browser


async def test_a_user_buys_from_the_catalog_and_sees_the_points_and_the_ledger(make_server, launch_browser, request):
    server = await make_server()
    admin_token, _ = await server.admin("boss")
    icon = f"{server.url}/static/webui/icon.svg"
    mug = await make_product(server, admin_token, name="Coffee mug", description="Holds <b>coffee</b>", price="7.50", points=15, image=icon)
    sticker = await make_product(server, admin_token, name="Sticker", price="0.99", points=0)
    article = await make_article(server, admin_token, title="Opening hours", content="We open at nine.\n\nWe close at <i>six</i>.", author="The team")

    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await ui.page.evaluate("() => localStorage.setItem('wamulti.lang', 'en')")
    await ui.reload()
    await ui.register("shopper", TEST_PASSWORD, full_name="Sam Shopper")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile"]
    token = await ui.storage("wamulti.token")

    # The catalog: every product with its price, points and image; text stays text.
    await nav(ui, "catalog", ".product-card")
    await ui.until("() => document.querySelectorAll('.product-card').length === 2", what="two products")
    card = f".product-card[data-product-id='{mug['id']}']"
    assert await ui.text(f"{card} .product-name") == "Coffee mug"
    assert await ui.text(f"{card} .description") == "Holds <b>coffee</b>"
    assert await ui.text(f"{card} .price") == "7.50"
    assert await ui.text(f"{card} .points") == "15"
    await ui.visible(f"{card} .card-image[data-state=loaded] img")
    assert await ui.attr(f".product-card[data-product-id='{sticker['id']}'] .card-image", "data-state") == "none"
    assert await ui.attr(".my-points", "data-points") == "0"
    assert await ui.page.evaluate("() => document.title") == "Catalog · wamulti"

    # A quantity out of range is refused by the page, and nothing is bought.
    await ui.fill(f"#qty-{mug['id']}", "0")
    await ui.click(f"{card} .buy")
    await ui.text_of(".catalog-page .form-error", "from 1 to 1000")
    assert (await server.client.get("/api/orders", headers=bearer(token))).json()["total"] == 0

    # Buying two mugs: the order, +30 points, the balance on the page.
    await ui.fill(f"#qty-{mug['id']}", "2")
    await ui.click(f"{card} .buy")
    await ui.text_of(".catalog-status", "You bought 2 × Coffee mug: +30 points.")
    await ui.until("() => document.querySelector('.my-points').dataset.points === '30'", what="the balance to become 30")
    assert await ui.text(".my-points") == "Your points: 30"
    assert await ui.text(".catalog-page .form-error") == ""
    await ui.shot("catalog-bought")
    points = (await server.client.get("/api/user/points", headers=bearer(token))).json()
    assert points["points"] == 30 and [e["delta"] for e in points["items"]] == [30]
    # By keyboard: Tab from the quantity reaches Buy, Enter buys.
    await ui.page.focus(f".product-card[data-product-id='{sticker['id']}'] .quantity")
    await ui.press("Tab")
    assert await ui.page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Buy Sticker"
    await ui.press("Enter")
    await ui.text_of(".catalog-status", "You bought 1 × Sticker: +0 points.")

    # The profile: balance, the ledger (a product worth 0 points writes no entry), the orders.
    await nav(ui, "profile", ".profile-page")
    await ui.text_of(".points-balance", "You have 30 points.")
    await ui.until("() => document.querySelectorAll('.orders-table tbody tr').length === 2", what="two orders")
    ledger = await rows(ui, ".points-table tbody tr")
    orders = (await server.client.get("/api/orders", headers=bearer(token))).json()["items"]
    assert len(ledger) == 1
    assert ledger[0][1:] == ["+30", "30", f"Order {orders[1]['id']}"]
    shown = await rows(ui, ".orders-table tbody tr")
    assert [r[:6] for r in shown] == [
        [f"№ {orders[0]['id']}", "Sticker", "1", "0.99", "0", "Placed"],
        [f"№ {orders[1]['id']}", "Coffee mug", "2", "15.00", "30", "Placed"],
    ]
    await ui.shot("profile")

    # Name and email: saved, and the top bar follows.
    await ui.fill("#profile-fullName", "Samantha Shopper")
    await ui.fill("#profile-email", "not-an-email")
    await ui.click(".profile-form button[type=submit]")
    await ui.text_of("#profile-email-error", "Not a valid email address.")
    assert await ui.attr("#profile-email", "aria-invalid") == "true"
    await ui.fill("#profile-email", "sam@example.com")
    await ui.click(".profile-form button[type=submit]")
    await ui.text_of(".profile-form .form-status", "Saved.")
    await ui.text_of(".who", "Samantha Shopper")
    me = (await server.client.get("/api/user/profile", headers=bearer(token))).json()
    assert (me["fullName"], me["email"]) == ("Samantha Shopper", "sam@example.com")

    # The password: a wrong current one is said beside its field and signs nobody out.
    other = (await server.client.post("/api/auth/login", json={"username": "shopper", "password": TEST_PASSWORD})).json()["token"]
    await ui.fill("#password-currentPassword", "wrong password")
    await ui.fill("#password-password", "a brand new secret")
    await ui.click(".password-form button[type=submit]")
    await ui.text_of("#password-currentPassword-error", "not your current password")
    assert await ui.page.evaluate("() => !!document.querySelector('.profile-page')")
    assert (await server.client.get("/api/user/profile", headers=bearer(other))).status_code == 200
    # The right one: other tokens are revoked; this page carries on with a fresh token, live.
    await ui.fill("#password-currentPassword", TEST_PASSWORD)
    await ui.fill("#password-password", "a brand new secret")
    await ui.click(".password-form button[type=submit]")
    await ui.text_of(".password-form .form-status", "Other devices are signed out.")
    assert (await server.client.get("/api/user/profile", headers=bearer(other))).status_code == 401
    fresh = await ui.storage("wamulti.token")
    assert fresh and fresh != token
    assert (await server.client.get("/api/user/profile", headers=bearer(fresh))).status_code == 200
    await ui.visible(".conn[data-conn=open]")
    assert await ui.page.evaluate("() => !!document.querySelector('.profile-page')"), "still signed in"
    login = await server.client.post("/api/auth/login", json={"username": "shopper", "password": "a brand new secret"})
    assert login.status_code == 200

    # Articles: the list, then one to read; text stays text, paragraphs are kept.
    await nav(ui, "articles", ".article-card")
    assert await ui.text(".article-card .article-title") == "Opening hours"
    await ui.text_of(".article-card .byline", "The team")
    await ui.click(f".article-card[data-article-id='{article['id']}'] .article-title a")
    await ui.visible(".article-page .article-text")
    assert await ui.texts(".article-text p") == ["We open at nine.", "We close at <i>six</i>."]
    assert await ui.attr(".main-nav a[data-page=articles]", "aria-current") == "page"
    await ui.until("() => document.title === 'Opening hours · wamulti'", what="the article's title")
    await ui.shot("article")
    await ui.click(".back-link")
    await ui.visible(".articles-page .article-card")
    # A user sees no editor, and the admin pages send them back.
    assert await ui.page.evaluate("() => document.querySelector('#new-article, .card-admin')") is None
    await go(ui, "#/admin/stats", ".chats-page")

    # On a phone-sized screen the pages fit its width (a wide table scrolls in its own box).
    await ui.page.setViewport(PHONE)
    for hash_, ready, name in (("#/catalog", ".product-card", "catalog"), ("#/profile", ".orders-table", "profile")):
        await go(ui, hash_, ready)
        overflow = await ui.page.evaluate(
            "() => [document.scrollingElement, document.querySelector('.page-slot')].map((e) => e.scrollWidth - e.clientWidth)")
        assert overflow == [0, 0], (name, overflow)
        await ui.shot(f"phone-{name}")
    ui.assert_clean()


async def test_an_admin_edits_the_catalog_and_articles_with_the_image_previewed(make_server, launch_browser, request):
    server = await make_server()
    admin_token, _ = await server.admin("boss")
    icon = f"{server.url}/static/webui/icon.svg"
    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await ui.page.evaluate("() => localStorage.setItem('wamulti.lang', 'en')")
    await ui.reload()
    await ui.sign_in("boss", TEST_PASSWORD)
    await ui.visible(".chats-page")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile", "Users", "Sessions", "Stats"]

    # A new product: the image URL is previewed as it is typed; one that does not load says so.
    await nav(ui, "catalog", "#new-product")
    await ui.text_of(".product-list", "There are no products yet.")
    await ui.click("#new-product")
    await ui.visible("#product-editor")
    assert await ui.page.evaluate("() => document.activeElement.id") == "product-editor-name"
    await ui.text_of("#product-editor .preview-slot", "No image.")
    await ui.fill("#product-editor-image", f"{server.url}/static/webui/missing.png")
    await ui.text_of("#product-editor .preview-slot", "cannot be loaded")
    await ui.fill("#product-editor-image", icon)
    await ui.visible("#product-editor .image-preview[data-state=loaded] img")
    assert await ui.attr("#product-editor .image-preview img", "src") == icon
    # The server's field errors show beside their fields.
    await ui.fill("#product-editor-price", "1.234")
    await ui.click("#product-editor button[type=submit]")
    await ui.visible("#product-editor-name[aria-invalid=true]")
    assert await ui.text("#product-editor-name-error")
    assert await ui.text("#product-editor-price-error")
    await ui.shot("product-editor")
    await ui.fill("#product-editor-name", "Tea towel")
    await ui.fill("#product-editor-description", "Linen")
    await ui.fill("#product-editor-price", "12.5")
    await ui.fill("#product-editor-points", "20")
    await ui.click("#product-editor button[type=submit]")
    await ui.text_of(".catalog-status", "Tea towel was saved.")
    await ui.hidden("#product-editor")
    products = (await server.client.get("/api/products")).json()["items"]
    assert [(p["name"], p["description"], p["price"], p["points"], p["image"]) for p in products] == [("Tea towel", "Linen", "12.50", 20, icon)]
    towel = products[0]["id"]
    card = f".product-card[data-product-id='{towel}']"
    await ui.visible(f"{card} .card-image[data-state=loaded]")
    assert await ui.page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Edit Tea towel"

    # Editing: the form holds the product; Escape closes it without a change.
    await ui.click(f"{card} .edit")
    assert await ui.page.evaluate("() => document.querySelector('#product-editor-name').value") == "Tea towel"
    await ui.press("Escape")
    await ui.hidden("#product-editor")
    await ui.click(f"{card} .edit")
    await ui.fill("#product-editor-points", "25")
    await ui.press("Enter")
    await ui.text_of(".catalog-status", "Tea towel was saved.")
    await ui.text_of(f"{card} .points", "25")
    assert (await server.client.get(f"/api/products/{towel}")).json()["points"] == 25

    # Deleting asks first.
    await ui.click(f"{card} .delete")
    await ui.text_of("dialog[open] h2", "Delete Tea towel?")
    await ui.click("dialog[open] .button:not(.danger)")
    await ui.hidden("dialog[open]")
    assert (await server.client.get(f"/api/products/{towel}")).status_code == 200
    await ui.click(f"{card} .delete")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".catalog-status", "Tea towel was deleted.")
    await ui.hidden(card)
    assert (await server.client.get(f"/api/products/{towel}")).status_code == 404

    # Articles: written, previewed, edited, deleted.
    await nav(ui, "articles", "#new-article")
    await ui.click("#new-article")
    await ui.fill("#article-editor-title", "Summer sale")
    await ui.fill("#article-editor-content", "Everything half price.\n\nUntil Sunday.")
    await ui.fill("#article-editor-image", icon)
    await ui.visible("#article-editor .image-preview[data-state=loaded]")
    await ui.click("#article-editor button[type=submit]")
    await ui.text_of(".articles-page .form-status", "“Summer sale” was saved.")
    articles = (await server.client.get("/api/articles")).json()["items"]
    assert [(a["title"], a["author"], a["image"]) for a in articles] == [("Summer sale", "boss", icon)]
    item = f".article-card[data-article-id='{articles[0]['id']}']"
    await ui.click(f"{item} .edit")
    await ui.fill("#article-editor-title", "Summer sale extended")
    await ui.click("#article-editor button[type=submit]")
    await ui.text_of(f"{item} .article-title", "Summer sale extended")
    await ui.shot("articles-admin")
    await ui.click(f"{item} .delete")
    await ui.click("dialog[open] .button.danger")
    await ui.hidden(item)
    assert (await server.client.get("/api/articles")).json()["total"] == 0
    ui.assert_clean()


async def test_an_admin_adjusts_points_cancels_an_order_and_reads_the_stats(make_server, launch_browser, request):
    server = await make_server()
    admin_token, _ = await server.admin("boss")
    carol_token, carol = await server.register("carol")
    mug = await make_product(server, admin_token, name="Coffee mug", price="7.50", points=15)
    order = (await server.client.post("/api/orders", json={"productId": mug["id"], "quantity": 2}, headers=bearer(carol_token))).json()

    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await ui.page.evaluate("() => localStorage.setItem('wamulti.lang', 'en')")
    await ui.reload()
    await ui.sign_in("boss", TEST_PASSWORD)
    await ui.visible(".chats-page")

    # The users page shows each balance and leads to the user's page.
    await nav(ui, "users", ".users-table tbody tr")
    row = f".users-table tr[data-user-id='{carol['id']}']"
    await ui.text_of(f"{row} .user-points", "30")
    await ui.click(f"{row} .user-link")
    await ui.visible(".user-page")
    await ui.text_of("#user-title", "User carol")
    await ui.text_of(".user-page .points-balance", "Balance: 30 points.")
    await ui.until("() => document.querySelectorAll('.orders-table tbody tr').length === 1", what="carol's order")
    assert await ui.attr(".main-nav a[data-page=users]", "aria-current") == "page"

    # An adjustment below 0 is refused, with the server's reason; the balance stays.
    await ui.fill("#adjust-delta", "-100")
    await ui.fill("#adjust-reason", "Too much")
    await ui.click(".adjust-form button[type=submit]")
    await ui.text_of(".adjust-form .form-error", "30 points")
    assert (await server.client.get(f"/api/admin/users/{carol['id']}/points", headers=bearer(admin_token))).json()["points"] == 30
    # Not a whole number: the page says so before asking.
    await ui.fill("#adjust-delta", "1.5")
    await ui.click(".adjust-form button[type=submit]")
    await ui.text_of("#adjust-delta-error", "whole number")
    # A bonus: the new balance, the ledger's newest row with the reason.
    await ui.fill("#adjust-delta", "50")
    await ui.fill("#adjust-reason", "Welcome <b>bonus</b>")
    await ui.press("Enter")
    await ui.text_of(".user-status", "the balance is now 80 points.")
    await ui.text_of(".user-page .points-balance", "Balance: 80 points.")
    await ui.until("() => document.querySelectorAll('.points-table tbody tr').length === 2", what="two entries")
    ledger = await rows(ui, ".points-table tbody tr")
    assert [r[1:] for r in ledger] == [
        ["+50", "80", "Adjusted by an administrator: Welcome <b>bonus</b>"],
        ["+30", "30", f"Order {order['id']}"],
    ]

    # Cancelling the order asks first, then takes its points back, once.
    await ui.click(".orders-table .cancel-order")
    await ui.text_of("dialog[open] h2", f"Cancel order {order['id']}?")
    await ui.text_of("dialog[open] p", "its 30 points are taken back")
    await ui.shot("cancel-order")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".user-status", f"Order {order['id']} was cancelled.")
    await ui.text_of(".user-page .points-balance", "Balance: 50 points.")
    await ui.text_of(".orders-table tbody tr .status", "Cancelled")
    assert await ui.page.evaluate("() => document.querySelector('.orders-table .cancel-order')") is None
    assert await ui.page.evaluate("() => document.activeElement.id") == "user-orders-heading"
    assert (await rows(ui, ".points-table tbody tr"))[0][1:] == ["-30", "50", f"Order {order['id']} cancelled"]
    mine = (await server.client.get("/api/user/points", headers=bearer(carol_token))).json()
    assert mine["points"] == 50 and [e["kind"] for e in mine["items"]] == ["order_cancelled", "adjustment", "order"]
    again = await server.client.post(f"/api/admin/orders/{order['id']}/cancel", headers=bearer(admin_token))
    assert again.status_code == 409
    await ui.shot("user-page")

    # The stats: the numbers of /api/admin/stats and the chart, one more sample per refresh.
    await nav(ui, "stats", ".stats-page .stat")
    await ui.text_of(".stat[data-stat=users] dd", "2 (1 admin)")
    await ui.text_of(".stat[data-stat=products] dd", "1")
    await ui.text_of(".stat[data-stat=database] dd", "sqlite" if "sqlite" in request.node.name else "mysql")
    await ui.until("() => document.querySelector('.sessions-chart')?.dataset.samples === '1'", what="one sample")
    await ui.click(".stats-page .refresh")
    await ui.until("() => Number(document.querySelector('.sessions-chart')?.dataset.samples) >= 2", what="a second sample")
    assert await ui.page.evaluate("() => document.querySelectorAll('.sessions-chart .series polyline').length") == 5
    label = await ui.page.evaluate("() => document.querySelector('.sessions-chart desc').textContent")
    assert label.startswith("Now: Starting…: 0, Waiting for scan: 0, Connected: 0"), label
    await ui.shot("stats")
    ui.assert_clean()


async def test_an_admin_stops_restarts_and_clears_any_session_after_a_confirm(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    admin_token, _ = await server.admin("boss")
    carol_token, carol = await server.register("carol")
    assert (await server.client.post(f"/api/whatsapp/start/{carol['id']}", headers=bearer(carol_token))).status_code == 202
    await wait_state(server, carol_token, carol["id"], "QR")

    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await ui.page.evaluate("() => localStorage.setItem('wamulti.lang', 'en')")
    await ui.reload()
    await ui.sign_in("boss", TEST_PASSWORD)
    await ui.visible(".chats-page")
    await nav(ui, "sessions", ".sessions-table tbody tr")
    row = f".sessions-table tr[data-user-id='{carol['id']}']"
    assert await ui.texts(f"{row} .row-actions button") == ["Stop", "Restart", "Clear"]
    assert await ui.attr(f"{row} .row-actions", "aria-label") == "Session of carol"

    # Each action asks first; Escape says no and the focus comes back to the button.
    await ui.page.focus(f"{row} [data-action=stop]")
    await ui.press("Enter")
    await ui.text_of("dialog[open] h2", "Stop the session of carol?")
    await ui.shot("confirm-stop")
    await ui.press("Escape")
    await ui.hidden("dialog[open]")
    assert await ui.page.evaluate("() => document.activeElement.dataset.action") == "stop"
    assert (await status(server, carol_token, carol["id"]))["state"] == "QR"

    # Restart: the session goes round again and shows a QR code.
    await ui.click(f"{row} [data-action=restart]")
    await ui.click("dialog[open] .button.danger, dialog[open] .button.primary")
    await ui.text_of(".session-done", "The session of carol is restarting.")
    await wait_state(server, carol_token, carol["id"], "QR")

    # Stop: it leaves the table (the table lists the sessions that are not stopped).
    await ui.click(f"{row} [data-action=stop]")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".session-done", "The session of carol was stopped.")
    await ui.hidden(row)
    assert (await status(server, carol_token, carol["id"]))["state"] == "STOPPED"

    # Clear: logged out and its login deleted.
    assert (await server.client.post(f"/api/whatsapp/start/{carol['id']}", headers=bearer(carol_token))).status_code == 202
    await wait_state(server, carol_token, carol["id"], "QR")
    await ui.click(".admin-page .toolbar .button")
    await ui.click(f"{row} [data-action=clear]")
    await ui.text_of("dialog[open] h2", "Clear the session of carol?")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".session-done", "The session of carol was cleared.")
    await ui.hidden(row)
    assert (await status(server, carol_token, carol["id"]))["state"] == "STOPPED"
    await ui.shot("sessions-after")
    ui.assert_clean()

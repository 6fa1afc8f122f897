"""The web app (webui plugin): its page and files, signing in and out, and the admin pages, driven in
real Chromium through pyppeteer. The chat flow with WhatsApp is in test_webui_chat.py.

Screenshots of every test land in test-artifacts/webui/ (not committed)."""
from __future__ import annotations

import re
from pathlib import Path


from clients import chat_id_of
from tests.support.server import ROOT, TEST_PASSWORD, assert_error, bearer
from tests.support.webui import UI, artifact_prefix
from tests.support.whatsapp import wa_config, wait_state

# -- the page and its files ----------------------------------------------------------------------
STATIC = ROOT / "plugins" / "webui" / "static"
IMPORT = re.compile(r"""^\s*import\s[^'"]*?from\s+['"](\.{1,2}/[^'"]+)['"]""", re.M)


def module_graph() -> set[str]:
    """Every module app.js reaches through its imports, as paths under static/."""
    seen: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        base = Path(name).parent
        for target in IMPORT.findall((STATIC / name).read_text()):
            todo.append(str((base / target)).replace("\\", "/") if not target.startswith("../") else str(Path(base.parent, target[3:])))
    return seen


async def test_the_page_and_its_files_are_served_under_a_strict_policy(server, launch_browser, request):
    page = await server.client.get("/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    # Thumbnails come inline (data:); media fetched with the token show through object URLs (blob:);
    # product and article pictures are https: URLs an administrator typed.
    assert policy["img-src"] == "'self' data: blob: https:" and policy["media-src"] == "blob:"
    host = f"127.0.0.1:{server.app.port}"
    assert policy["connect-src"] == f"'self' ws://{host} wss://{host}"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    html = page.text
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script type="module" src="/static/webui/app.js">'], "no inline script"
    assert "style=" not in html and "<style" not in html

    # What shows before the scripts run is in the language the browser asks for first.
    assert '<html lang="en">' in html and "Loading wamulti…" in html and "{" not in html
    assert page.headers["Vary"] == "Accept-Language"
    for asked, lang, loading in (("ru-RU,ru;q=0.9,en;q=0.8", "ru", "Загрузка wamulti…"),
                                 ("de-DE, en;q=0.3, ru;q=0.7", "ru", "Загрузка wamulti…"),
                                 ("ru;q=0.1, en", "en", "Loading wamulti…"), ("fr-FR", "en", "Loading wamulti…")):
        localized = await server.client.get("/", headers={"Accept-Language": asked})
        assert f'<html lang="{lang}">' in localized.text and loading in localized.text, asked
        noscript = "Для работы wamulti включите JavaScript." if lang == "ru" else "wamulti needs JavaScript turned on."
        assert f"<noscript><p class=\"boot\">{noscript}</p></noscript>" in localized.text, asked
    assert_error(await server.client.get("/static/webui/index.html"), 404, "not_found")

    # Every module of the app, the style sheet and the icon, with types a browser accepts.
    modules = module_graph()
    assert {"app.js", "api.js", "socket.js", "store.js", "live.js", "dom.js", "views/conversation.js"} <= modules
    for name in modules:
        response = await server.client.get(f"/static/webui/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8", name
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Content-Type-Options"] == "nosniff"
        assert "innerHTML" not in response.text and "insertAdjacentHTML" not in response.text, name
    css = await server.client.get("/static/webui/style.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    icon = await server.client.get("/static/webui/icon.svg")
    assert icon.headers["Content-Type"] == "image/svg+xml"
    head = await server.client.head("/static/webui/app.js")
    assert head.status_code == 200 and head.content == b""
    cached = await server.client.get("/static/webui/app.js", headers={"If-None-Match": head.headers["Etag"]})
    assert cached.status_code == 304

    # Nothing outside the folder, and failures in the API's error shape.
    for path in ("/static/webui/nothing.js", "/static/webui/../../../setup.cfg", "/static/webui/%2e%2e/handlers.py",
                 "/static/webui/views", "/static/webui/..%2f__init__.py"):
        response = await server.client.get(path)
        assert response.status_code in (403, 404), path
        assert response.json()["error"]["status"] == response.status_code, path
    assert (await server.client.post("/", json={})).json()["error"]["code"] == "method_not_allowed"

    # In Chromium: every module loads under the policy, and the policy refuses inline script.
    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await ui.visible("#signin-username")
    loaded = await ui.page.evaluate("() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)")
    assert {f"/static/webui/{name}" for name in modules} | {"/static/webui/style.css"} <= set(loaded)
    ui.assert_clean()
    refused = await ui.page.evaluate(
        """() => new Promise((resolve) => {
          document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
          const script = document.createElement('script');
          script.textContent = 'window.__inline = 1';
          document.body.append(script);
        })"""
    )
    assert refused.startswith("script-src")
    assert await ui.page.evaluate("() => window.__inline") is None
    await ui.shot("sign-in")

    # One rule for phone numbers: the page's chatIdFromPhone answers what the server's chat_id_of does.
    typed = ["+7 999 123-45-67", "(999) 123.45.67", "79991234567", " +79991234567 ", "12345", "1234567890123456",
             "79991234567@c.us", "120363012345678@g.us", "123456789012@lid", "status@broadcast", "7999@c.us",
             "abc1234567", "+7 999 ١٢٣ 45 67", "79991234567@s.whatsapp.net", "++79991234567", ""]
    in_browser = await ui.page.evaluate(
        "async (values) => { const { chatIdFromPhone } = await import('/static/webui/dom.js');"
        " return values.map((v) => chatIdFromPhone(v)); }", typed)
    expected = []
    for value in typed:
        try:
            expected.append(chat_id_of(value))
        except ValueError:
            expected.append(None)
    assert in_browser == expected
    assert expected[:2] == ["79991234567@c.us", "9991234567@c.us"]


# -- accounts ------------------------------------------------------------------------------------
async def test_register_sign_in_keep_the_token_and_sign_out(make_server, launch_browser, request):
    server = await make_server(websocket={"reauth_interval": 0.2})
    await server.register("taken")
    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))

    # Signed out, any address shows the sign-in form; its fields have labels.
    await ui.visible("#signin-username")
    assert await ui.page.evaluate("() => location.hash") == "#/signin"
    labels = await ui.page.evaluate("() => [...document.querySelectorAll('input')].map((i) => i.labels.length && i.labels[0].textContent)")
    assert labels == ["Username", "Password"]
    await ui.click("a[href='#/register']")
    await ui.visible("#register-username")

    # The API's messages show next to the fields they are about, and the form keeps what was typed.
    await ui.fill("#register-username", "a!")
    await ui.fill("#register-password", "short")
    await ui.press("Enter")
    await ui.text_of("#register-username-error", "Use 3 to 32 letters")
    await ui.text_of("#register-password-error", "Use 8 to 128 characters.")
    assert await ui.attr("#register-username", "aria-invalid") == "true"
    assert "register-username-error" in await ui.attr("#register-username", "aria-describedby")
    assert await ui.page.evaluate("() => document.activeElement.id") == "register-username"
    await ui.shot("register-errors")
    await ui.fill("#register-username", "taken")
    await ui.fill("#register-password", "correct horse battery")
    await ui.fill("#register-email", "not-an-email")
    await ui.press("Enter")
    await ui.text_of("#register-email-error", "Not a valid email address.")
    await ui.fill("#register-email", "")
    await ui.page.click(".auth-form button[type=submit]")
    await ui.text_of("#register-username-error", "That username, or one that looks like it, is taken.")
    assert await ui.text("#register-password-error") == ""

    # Registered: the chats page, the user's name, the WhatsApp panel; no admin pages.
    await ui.fill("#register-username", "webuser")
    await ui.fill("#register-fullName", "Web User")
    await ui.page.click(".auth-form button[type=submit]")
    await ui.visible(".chats-page")
    await ui.text_of(".who", "Web User")
    await ui.text_of(".session-panel .state-badge", "Stopped")
    await ui.visible(".session-panel [data-action=start]")
    await ui.visible(".conn[data-conn=open]")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile"]
    token = await ui.storage("wamulti.token")
    me = await server.client.get("/api/user/profile", headers=bearer(token))
    assert me.json()["username"] == "webuser"
    await ui.page.evaluate("() => { location.hash = '#/admin/users'; }")
    await ui.until("() => location.hash === '#/chats'", what="a user sent back from the admin pages")
    await ui.shot("signed-in")

    # Keyboard: Tab moves through the controls and the focus ring shows where it is.
    await ui.page.focus("#new-chat-phone")
    await ui.press("Tab")
    focused = await ui.page.evaluate(
        "() => { const e = document.activeElement, s = getComputedStyle(e); return [e.textContent, s.outlineStyle, s.outlineWidth]; }"
    )
    assert focused == ["Open", "solid", "3px"], focused
    await ui.press("Tab", shift=True)
    assert await ui.page.evaluate("() => document.activeElement.id") == "new-chat-phone"

    # The token survives a reload; signing out forgets it.
    await ui.reload()
    await ui.visible(".chats-page")
    await ui.text_of(".who", "Web User")
    await ui.click(".sign-out")
    await ui.visible("#signin-username")
    assert await ui.storage("wamulti.token") is None

    # A wrong password is said on the form; the right one signs in.
    await ui.sign_in("webuser", "wrong password!")
    await ui.text_of(".form-error", "Wrong username or password.")
    await ui.shot("wrong-password")
    await ui.sign_in("webuser", "correct horse battery")
    await ui.visible(".chats-page")

    # A token that stops working signs the page out: the socket's 4401 when a role changes ...
    admin, _ = await server.admin()
    user_id = me.json()["id"]
    promoted = await server.client.put(f"/api/admin/users/{user_id}/role", headers=bearer(admin), json={"role": "admin"})
    assert promoted.status_code == 200
    await ui.visible("#signin-username")
    await ui.text_of(".notice", "sign in again")
    assert await ui.storage("wamulti.token") is None
    # ... and a 401 from REST, here for a token kept from before the change.
    await ui.sign_in("webuser", "correct horse battery")
    await ui.visible(".chats-page")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile", "Users", "Sessions", "Stats"]
    await ui.page.evaluate("(t) => localStorage.setItem('wamulti.token', t)", token)
    await ui.reload()
    await ui.visible("#signin-username")
    await ui.text_of(".notice", "sign in again")
    ui.assert_clean()


# -- administration ------------------------------------------------------------------------------
async def test_admin_changes_roles_deletes_users_and_watches_sessions(make_server, fakewa, launch_browser, request):
    server = await make_server(**wa_config(fakewa))
    admin_token, _ = await server.admin("boss")
    carol_token, carol = await server.register("carol")
    _, dave = await server.register("dave", fullName="Dave <b>Bold</b>")
    started = await server.client.post(f"/api/whatsapp/start/{carol['id']}", headers=bearer(carol_token))
    assert started.status_code == 202
    await wait_state(server, carol_token, carol["id"], "QR")

    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    await ui.sign_in("boss", TEST_PASSWORD)
    await ui.visible(".chats-page")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile", "Users", "Sessions", "Stats"]

    # Sessions: every live one, with its state, refreshed by itself.
    await ui.click(".main-nav a[data-page=sessions]")
    await ui.text_of(".sessions-table tbody", "carol")
    row = f".sessions-table tr[data-user-id='{carol['id']}']"
    assert await ui.attr(f"{row} .state-badge", "data-state") == "QR"
    assert await ui.page.evaluate("() => document.querySelectorAll('.sessions-table tbody tr').length") == 1
    assert await ui.attr(".main-nav a[data-page=sessions]", "aria-current") == "page"
    await ui.shot("sessions")
    stopped = await server.client.post(f"/api/whatsapp/disconnect/{carol['id']}", headers=bearer(carol_token))
    assert stopped.json()["state"] == "STOPPED"
    await ui.until("() => document.querySelectorAll('.sessions-table tbody tr').length === 0", timeout=10, what="the stopped session to leave the table")

    # Users: every user; names are text, never markup.
    await ui.click(".main-nav a[data-page=users]")
    await ui.text_of(".users-table tbody", "dave")
    names = await ui.texts(".users-table tbody th.username")
    assert names == ["boss (you)", "carol", "dave"]
    assert "Dave <b>Bold</b>" in await ui.texts(".users-table tbody td")
    assert await ui.page.evaluate("() => document.querySelector('.users-table b')") is None

    # A role change goes to the server.
    await ui.page.select(f"select[data-user-id='{dave['id']}']", "admin")
    await ui.text_of(".admin-page [role=status]", "dave is now an admin.")
    listed = await server.client.get("/api/admin/users?q=dave", headers=bearer(admin_token))
    assert listed.json()["items"][0]["role"] == "admin"

    # Deleting asks first; Escape and Cancel keep the user.
    delete = f".users-table tr[data-user-id='{carol['id']}'] button"
    await ui.click(delete)
    await ui.visible("dialog[open]")
    await ui.text_of("dialog[open] h2", "Delete carol?")
    await ui.shot("confirm-delete")
    await ui.press("Escape")
    await ui.hidden("dialog[open]")
    assert await ui.page.evaluate("() => document.activeElement.textContent") == "Delete", "focus returns to the button"
    await ui.click(delete)
    await ui.click("dialog[open] .button:not(.danger)")
    await ui.hidden("dialog[open]")
    assert (await server.client.get("/api/admin/users?q=carol", headers=bearer(admin_token))).json()["total"] == 1
    await ui.click(delete)
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".admin-page [role=status]", "carol was deleted.")
    assert await ui.texts(".users-table tbody th.username") == ["boss (you)", "dave"]
    assert (await server.client.get("/api/admin/users?q=carol", headers=bearer(admin_token))).json()["total"] == 0

    # The last-admin rule is the server's, and its answer is shown.
    await ui.page.select(f"select[data-user-id='{dave['id']}']", "user")
    await ui.text_of(".admin-page [role=status]", "dave is now a user.")
    await ui.page.select(".users-table select", "user")  # the admin's own row comes first
    await ui.visible("dialog[open]")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(".admin-page .form-error", "admin")
    assert await ui.page.evaluate("() => document.querySelector('.users-table select').value") == "admin"
    await ui.shot("users")

    # With another admin, an admin may step down; the old token is revoked, so the page signs out.
    await ui.page.select(f"select[data-user-id='{dave['id']}']", "admin")
    await ui.text_of(".admin-page [role=status]", "dave is now an admin.")
    await ui.page.select(".users-table select", "user")
    await ui.click("dialog[open] .button.danger")
    await ui.visible("#signin-username")
    await ui.text_of(".notice", "sign in again")
    await ui.sign_in("boss", TEST_PASSWORD)
    await ui.visible(".chats-page")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile"]
    ui.assert_clean()

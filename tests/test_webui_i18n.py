"""The web app in English and Russian, in real Chromium on the real server.

The language comes from the browser's (navigator.languages) until the person picks one with the
switch, which is remembered; every string is in a catalogue per language with the same keys
(static/i18n/en.js and ru.js), none in the modules' code; dates and numbers are formatted by Intl
for the language. The API's messages stay English: the page words known error codes and field
messages itself.
"""
from __future__ import annotations

import asyncio
import re

import pytest

from tests.support.pages import choose_language, make_product, nav, rows, use_language
from tests.support.server import ROOT, TEST_PASSWORD, bearer
from tests.support.webui import UI, artifact_prefix

pytestmark = pytest.mark.browser

STATIC = ROOT / "plugins" / "webui" / "static"
SHAPE = """async () => {
  const [en, ru] = await Promise.all([import('/static/webui/i18n/en.js'), import('/static/webui/i18n/ru.js')]);
  const shape = (o, p = '') => Object.entries(o).flatMap(([k, v]) => v && typeof v === 'object' && !Array.isArray(v)
    ? shape(v, `${p}${k}.`) : [`${p}${k}:${Array.isArray(v) ? `array${v.length}` : typeof v}`]);
  const strings = (o, p = '') => Object.entries(o).flatMap(([k, v]) => v && typeof v === 'object'
    ? strings(v, `${p}${k}.`) : typeof v === 'string' ? [[`${p}${k}`, v]] : []);
  const ruStrings = Object.fromEntries(strings(ru.default));
  return { en: shape(en.default), ru: shape(ru.default),
           same: strings(en.default).filter(([k, v]) => /[a-z]{3}/.test(v) && ruStrings[k] === v).map(([k]) => k) };
}"""
# Strings that read the same in both languages: names, and a phone number's example.
SAME_IN_BOTH = {"appName", "shell.pillLabel", "session.title", "chats.phoneExample", "linking.phoneExample"}
# A sentence in a module's code: a quoted capitalised word followed by more words or a full stop.
SENTENCE = re.compile(r"""(?<![\w.])(['"`])[A-Z][a-z]+(?: [A-Za-z]+| ?[.…!?])[^'"`]*\1""")
UI_PROPS = re.compile(r"""\b(text|label|title|placeholder|alt|message|confirm|hint)\s*:\s*(['"`])[^'"`]*[A-Za-z]{2}""")


def test_no_sentence_is_left_in_the_modules_code():
    found = []
    for path in sorted(STATIC.rglob("*.js")):
        if path.parent.name == "i18n" or path.name == "i18n.js":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("//")[0] if not line.lstrip().startswith(("*", "/**")) else ""
            code = code.replace("`Bearer ${token}`", "")
            if SENTENCE.search(code) or UI_PROPS.search(code):
                found.append(f"{path.relative_to(STATIC)}:{number}: {line.strip()}")
    assert not found, "strings outside the catalogues:\n" + "\n".join(found)


async def test_the_russian_ui_its_switch_and_the_locale_formats(make_server, launch_browser, request):
    server = await make_server()
    admin_token, _ = await server.admin("boss")
    mug = await make_product(server, admin_token, name="Кружка", price="1234.50", points=15)

    browser = await launch_browser()
    ui = UI(await browser.newPage(), server.url, artifact_prefix(request))
    await ui.page.setViewport({"width": 1280, "height": 800})
    await use_language(ui, ["ru-RU", "ru", "en"])
    await ui.page.goto(f"{server.url}/", waitUntil="load")

    # The catalogues have the same keys, and Russian leaves nothing in English.
    shapes = await ui.page.evaluate(SHAPE)
    assert sorted(shapes["en"]) == sorted(shapes["ru"])
    assert set(shapes["same"]) <= SAME_IN_BOTH, set(shapes["same"]) - SAME_IN_BOTH

    # The browser prefers Russian: the sign-in page speaks it, and says it does.
    await ui.visible("#signin-username")
    assert await ui.page.evaluate("() => document.documentElement.lang") == "ru"
    assert await ui.text("#auth-title") == "Вход в wamulti"
    assert await ui.page.evaluate("() => [...document.querySelectorAll('input')].map((i) => i.labels[0].textContent)") == ["Имя пользователя", "Пароль"]
    assert await ui.text(".skip-link") == "Перейти к содержимому"
    assert await ui.page.evaluate("() => document.title") == "Вход · wamulti"
    assert await ui.page.evaluate("() => document.querySelector('.language-select').value") == "ru"
    # A wrong password: the API says it in English, the page in Russian, by the error's code.
    await ui.fill("#signin-username", "nobody")
    await ui.fill("#signin-password", "wrong password")
    await ui.press("Enter")
    await ui.text_of(".auth-form .form-error", "Войдите снова или проверьте пароль.")
    await ui.shot("sign-in-ru")

    # Registered: the chats page, the navigation and the WhatsApp panel in Russian.
    await ui.click("a[href='#/register']")
    await ui.visible("#register-username")
    assert await ui.text(".auth-form button[type=submit]") == "Зарегистрироваться"
    # The API's field messages are English; beside each field the page words them in Russian.
    await ui.fill("#register-username", "ol")
    await ui.fill("#register-password", "short")
    await ui.fill("#register-email", "olga-at-example")
    await ui.click(".auth-form button[type=submit]")
    await ui.text_of(".field-error[data-field=username]", "От 3 до 32 латинских букв a-z, цифр, «_», «.» или «-».")
    assert await ui.text(".field-error[data-field=password]") == "От 8 до 128 символов."
    assert await ui.text(".field-error[data-field=email]") == "Это не адрес эл. почты."
    assert await ui.attr("#register-username", "aria-invalid") == "true"
    await ui.shot("register-errors-ru")
    await ui.page.evaluate("() => { document.querySelector('#register-email').value = ''; }")
    await ui.register("olga", TEST_PASSWORD, full_name="Ольга")
    assert await ui.texts(".main-nav a") == ["Чаты", "Каталог", "Статьи", "Профиль"]
    await ui.text_of(".session-panel .state-badge", "Остановлен")
    assert await ui.text(".sign-out") == "Выйти"
    token = await ui.storage("wamulti.token")

    # Buying: Russian plurals, and prices and counts as Russian writes them.
    await nav(ui, "catalog", ".product-card")
    card = f".product-card[data-product-id='{mug['id']}']"
    assert await ui.text(f"{card} .price") == "1\u00a0234,50"
    await ui.fill(f"#qty-{mug['id']}", "2")
    await ui.click(f"{card} .buy")
    await ui.text_of(".catalog-status", "Вы купили 2 × Кружка: +30 баллов.")
    await ui.until("() => document.querySelector('.my-points').dataset.points === '30'", what="30 points")
    assert await ui.text(".my-points") == "Ваши баллы: 30"
    await ui.fill(f"#qty-{mug['id']}", "1")
    await ui.click(f"{card} .buy")
    await ui.text_of(".catalog-status", "Вы купили 1 × Кружка: +15 баллов.")
    await ui.shot("catalog-ru")

    # The profile: the ledger's dates as Russian writes them ("2 дек. 2026 г., 14:05").
    await nav(ui, "profile", ".points-table tbody tr")
    await ui.text_of(".points-balance", "У вас 45 баллов.")
    entries = (await server.client.get("/api/user/points", headers=bearer(token))).json()["items"]
    cells = await rows(ui, ".points-table tbody tr")
    assert [c[1:3] for c in cells] == [["+15", "45"], ["+30", "30"]]
    expected = await ui.page.evaluate(
        "(iso) => new Intl.DateTimeFormat('ru', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))",
        entries[0]["created_at"],
    )
    assert cells[0][0] == expected
    assert re.fullmatch(r"\d{1,2} [а-я]{3,4}\.? \d{4} г\., \d{2}:\d{2}", expected), expected
    assert await ui.texts(".orders-table thead th") == ["Заказ", "Товар", "Количество", "Сумма", "Баллы", "Состояние", "Оформлен"]
    await ui.shot("profile-ru")

    # The switch: English now, remembered across a reload though the browser prefers Russian.
    await choose_language(ui, "en", ".topbar .language-select")
    await ui.until("() => document.documentElement.lang === 'en' && !!document.querySelector('.profile-page')", what="the page in English")
    assert await ui.storage("wamulti.lang") == "en"
    await ui.text_of(".points-balance", "You have 45 points.")
    assert await ui.texts(".main-nav a") == ["Chats", "Catalog", "Articles", "Profile"]
    await ui.until("() => document.querySelectorAll('.points-table tbody tr').length === 2", what="the ledger in English")
    cell = (await rows(ui, ".points-table tbody tr"))[0][0]
    assert cell == await ui.page.evaluate(
        "(iso) => new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))",
        entries[0]["created_at"],
    )
    await ui.reload()
    await ui.visible(".profile-page")
    assert await ui.page.evaluate("() => document.documentElement.lang") == "en"
    # ... and back to Russian, by keyboard.
    await ui.page.focus(".topbar .language-select")
    navigation = asyncio.ensure_future(ui.page.waitForNavigation(waitUntil="load"))
    await ui.press("ArrowDown")
    await navigation
    await ui.until("() => document.documentElement.lang === 'ru' && !!document.querySelector('.profile-page')", what="the page in Russian again")
    assert await ui.storage("wamulti.lang") == "ru"
    await ui.text_of("#profile-title", "Ваш профиль")
    ui.assert_clean()

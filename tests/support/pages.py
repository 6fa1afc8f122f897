"""Helpers for the web app's pages beyond chat: data made through the API, going to a page."""
from __future__ import annotations

import asyncio
from typing import Any

from tests.support.server import bearer
from tests.support.webui import UI


async def make_product(server: Any, admin_token: str, **fields: Any) -> dict:
    response = await server.client.post("/api/products", json=fields, headers=bearer(admin_token))
    assert response.status_code == 201, response.text
    return response.json()


async def make_article(server: Any, admin_token: str, **fields: Any) -> dict:
    response = await server.client.post("/api/articles", json=fields, headers=bearer(admin_token))
    assert response.status_code == 201, response.text
    return response.json()


async def go(ui: UI, hash_: str, ready: str) -> None:
    """Follow the address (as a link would) and wait for ``ready`` to show."""
    await ui.page.evaluate("(h) => { location.hash = h; }", hash_)
    await ui.visible(ready)


async def nav(ui: UI, page: str, ready: str) -> None:
    """Click the main navigation's link to ``page`` and wait for ``ready``."""
    await ui.click(f".main-nav a[data-page={page}]")
    await ui.visible(ready)
    assert await ui.attr(f".main-nav a[data-page={page}]", "aria-current") == "page"


async def rows(ui: UI, selector: str) -> list[list[str]]:
    """The cells' text of each row of a table body."""
    return await ui.page.evaluate(
        "(s) => [...document.querySelectorAll(s)].map((tr) => [...tr.children].map((c) => c.textContent))", selector
    )


async def use_language(ui: UI, languages: list[str]) -> None:
    """The browser says it prefers ``languages`` (navigator.languages) from the next load on."""
    await ui.page.evaluateOnNewDocument(
        "(langs) => { Object.defineProperty(navigator, 'languages', { get: () => langs });"
        " Object.defineProperty(navigator, 'language', { get: () => langs[0] }); }",
        languages,
    )


async def choose_language(ui: UI, code: str, selector: str = ".language-select") -> None:
    """Pick ``code`` in the language switch as a person would; the page loads again in it."""
    navigation = asyncio.ensure_future(ui.page.waitForNavigation(waitUntil="load"))
    await ui.page.evaluate(
        "([s, code]) => { const e = document.querySelector(s); e.value = code;"
        " setTimeout(() => e.dispatchEvent(new Event('change', { bubbles: true })), 0); }",
        [selector, code],
    )
    await navigation

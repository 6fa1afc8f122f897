"""The web app in real Chromium: a page wrapper whose every wait fails with a screenshot."""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pyppeteer.errors import ElementHandleError
from pyppeteer.errors import TimeoutError as PageTimeout

from plugins.whatsapp.qr import qr_data_url
from tests.fakewa.control import SimControlError
from tests.support.server import ROOT


ARTIFACTS = ROOT / "test-artifacts" / "webui"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 780}  # no isMobile: switching it makes Chromium reload the page


def artifact_prefix(request: pytest.FixtureRequest) -> str:
    """`test_name-sqlite`: the screenshots of each run of a test land side by side."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


class UI:
    """One browser page on the app. Every wait fails with a screenshot of what the page showed."""

    def __init__(self, page: Any, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.name = name
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        # Failed requests (a 409 for a QR not shown yet, a socket refused while offline) are
        # part of the flow; a policy violation or a script error never is.
        if "Content Security Policy" in text or "Refused to" in text or message.type == "assert":
            self.problems.append(f"console: {text}")

    @classmethod
    async def open(cls, browser: Any, base_url: str, name: str, viewport: dict | None = None) -> "UI":
        page = await browser.newPage()
        await page.setViewport(viewport or DESKTOP)
        ui = cls(page, base_url, name)
        await page.goto(f"{base_url}/", waitUntil="load")
        return ui

    async def shot(self, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{step}.png"
        await self.page.screenshot({"path": str(path)})
        return path

    async def until(self, js: str, *args: Any, timeout: float = 15, what: str | None = None) -> Any:
        """Wait until the page function returns something truthy; return it."""
        try:
            handle = await self.page.waitForFunction(js, {"timeout": int(timeout * 1000), "polling": 50}, *args)
        except PageTimeout:
            await self.shot("timeout")
            raise AssertionError(f"{self.name}: timed out waiting for {what or js}") from None
        return await handle.jsonValue()

    async def visible(self, selector: str, timeout: float = 15) -> None:
        await self.until(
            "(s) => { const e = document.querySelector(s); return !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length); }",
            selector,
            timeout=timeout,
            what=f"{selector} to be visible",
        )

    async def hidden(self, selector: str, timeout: float = 15) -> None:
        await self.until(
            "(s) => { const e = document.querySelector(s); return !e || !(e.offsetWidth || e.offsetHeight || e.getClientRects().length); }",
            selector,
            timeout=timeout,
            what=f"{selector} to be hidden",
        )

    async def text_of(self, selector: str, text: str, timeout: float = 15) -> None:
        """Wait until the element's text contains ``text``."""
        await self.until(
            "(s, t) => { const e = document.querySelector(s); return !!e && e.textContent.includes(t); }",
            selector,
            text,
            timeout=timeout,
            what=f"{selector} to contain {text!r}",
        )

    async def text(self, selector: str) -> str | None:
        return await self.page.evaluate("(s) => { const e = document.querySelector(s); return e ? e.textContent : null; }", selector)

    async def texts(self, selector: str) -> list[str]:
        return await self.page.evaluate("(s) => [...document.querySelectorAll(s)].map((e) => e.textContent)", selector)

    async def attr(self, selector: str, name: str) -> str | None:
        return await self.page.evaluate(
            "(s, n) => { const e = document.querySelector(s); return e ? e.getAttribute(n) : null; }", selector, name
        )

    async def fill(self, selector: str, value: str) -> None:
        await self.page.evaluate("(s) => { const e = document.querySelector(s); e.value = ''; e.focus(); }", selector)
        await self.page.type(selector, value)

    async def click(self, selector: str) -> None:
        """Click the element; when a live update draws it anew between finding it and clicking
        it (pyppeteer's click is not one step), click the new one."""
        for attempt in range(3):
            await self.visible(selector)
            try:
                await self.page.click(selector)
                return
            except ElementHandleError as exc:
                if "detached" not in str(exc) or attempt == 2:
                    raise

    async def press(self, key: str, *, shift: bool = False) -> None:
        if shift:
            await self.page.keyboard.down("Shift")
        await self.page.keyboard.press(key)
        if shift:
            await self.page.keyboard.up("Shift")

    async def storage(self, key: str) -> str | None:
        return await self.page.evaluate("(k) => localStorage.getItem(k)", key)

    async def reload(self) -> None:
        await self.page.reload(waitUntil="load")

    async def register(self, username: str, password: str, full_name: str = "") -> None:
        await self.page.evaluate("() => { location.hash = '#/register'; }")
        await self.visible("#register-username")
        await self.fill("#register-username", username)
        await self.fill("#register-password", password)
        if full_name:
            await self.fill("#register-fullName", full_name)
        await self.page.click(".auth-form button[type=submit]")
        await self.visible(".chats-page")

    async def sign_in(self, username: str, password: str) -> None:
        await self.visible("#signin-username")
        await self.fill("#signin-username", username)
        await self.fill("#signin-password", password)
        await self.press("Enter")

    def assert_clean(self) -> None:
        assert not self.problems, f"{self.name}: the page reported problems: {self.problems}"


async def scan_shown_qr(ui: UI, fakewa: Any, phone: str, pushname: str) -> None:
    """Scan the code on the page with the simulated phone (it may rotate in between: then again)."""
    for _ in range(4):
        ref = await ui.until("() => document.querySelector('.qr[data-ref]')?.dataset.ref", timeout=30, what="a QR code")
        assert await ui.attr(".qr-image", "src") == qr_data_url(ref), "the image shows this payload"
        try:
            await fakewa.scan(ref, phone, pushname)
            return
        except SimControlError as exc:
            if exc.status != 404:
                raise
    raise AssertionError("every QR code shown had expired before it was scanned")


async def pair_shown_code(ui: UI, fakewa: Any, phone: str, pushname: str) -> str:
    """Type the pairing code the page shows into the simulated ``phone`` (WhatsApp may replace
    the code in between: then the new one); the code typed."""
    tried: set[str] = set()
    for _ in range(4):
        code = await ui.until(
            "(tried) => { const e = document.querySelector('.pair-code:not(.ended)'); const c = e && e.dataset.code;"
            " return c && !tried.includes(c) ? c : null; }",
            sorted(tried),
            timeout=30,
            what="a pairing code",
        )
        try:
            await fakewa.pair(phone, code, pushname)
            return code
        except SimControlError as exc:
            if exc.status != 404:
                raise
            tried.add(code)
    raise AssertionError(f"every pairing code shown had expired before it was typed in: {sorted(tried)}")


async def rect(ui: UI, selector: str) -> dict | None:
    """The element's box on the screen in CSS pixels, or None when there is no such element."""
    return await ui.page.evaluate(
        "(s) => { const e = document.querySelector(s); if (!e) return null; const r = e.getBoundingClientRect();"
        " return { x: r.x, y: r.y, width: r.width, height: r.height }; }",
        selector,
    )


async def link_whatsapp(ui: UI, fakewa: Any, phone: str, pushname: str) -> None:
    """Start WhatsApp from the panel and scan the QR code it shows with ``phone``: connected."""
    await ui.click(".session-panel [data-action=start]")
    await scan_shown_qr(ui, fakewa, phone, pushname)
    await ui.text_of(".session-panel .state-badge", "Connected", timeout=30)


async def allow_downloads(ui: UI, folder: Path) -> Path:
    """Files the page saves (an ``<a download>``) land in ``folder``, as a person's would."""
    folder.mkdir(parents=True, exist_ok=True)
    session = await ui.page.target.createCDPSession()
    await session.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    return folder


async def downloaded(folder: Path, name: str, timeout: float = 15) -> bytes:
    """The bytes of ``folder/name`` once Chromium has finished writing it."""
    path = folder / name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        partial = list(folder.glob("*.crdownload"))
        if path.exists() and not partial:
            return path.read_bytes()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded into {folder} (there: {sorted(p.name for p in folder.iterdir())})")

"""`make demo` end to end: ``python -m tests.fakewa.demo`` in its own process, wamulti used over
REST, and the simulator's phone page in real Chromium playing the phone (scan, chat, read); and
the control calls that page reads (``/__sim/pages``, ``/__sim/phones``)."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import signal
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from tornado.websocket import websocket_connect

from tests.support.faults import profile_processes, wait_until
from tests.support.server import ROOT, TEST_PASSWORD, bearer
from tests.support.webui import DESKTOP, UI, artifact_prefix

PHONE, CONTACT = "79990000301", "79990000302"
LABELLED_URL = re.compile(r"^\s+(wamulti|phone)\s+(http://127\.0\.0\.1:\d+/\S*)\s*$")


class Demo:
    """The demo process, the URLs it printed, and a client of its wamulti server."""

    def __init__(self, process: asyncio.subprocess.Process, urls: dict[str, str], log: Path) -> None:
        self.process, self.urls, self.log = process, urls, log
        self.client = httpx.AsyncClient(base_url=urls["wamulti"], timeout=30, trust_env=False)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self, sig: int = signal.SIGINT, timeout: float = 40) -> int:
        await self.client.aclose()
        if self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError(f"the demo did not stop within {timeout}s:\n{self.log_text()[-3000:]}") from None
        return self.process.returncode


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """``python -m tests.fakewa.demo`` on free ports with its own data folder; killed if a test
    leaves it running."""
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    with open(log, "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fakewa.demo", "--port", "0", "--sim-port", "0",
            "--data-dir", str(tmp_path / "demo-data"),
            cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )
    urls: dict[str, str] = {}
    try:
        while len(urls) < 2:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, f"the demo exited before printing its URLs:\n{log.read_text(errors='replace')[-3000:]}"
            found = LABELLED_URL.match(line.decode())
            if found:
                urls[found.group(1)] = found.group(2)
        running = Demo(process, urls, log)
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def session_status(demo: Demo, token: str, user_id: int) -> dict[str, Any]:
    response = await demo.client.get(f"/api/whatsapp/status/{user_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def chat_messages(demo: Demo, token: str, user_id: int) -> list[dict[str, Any]]:
    response = await demo.client.get(f"/api/whatsapp/chats/{user_id}/{CONTACT}@c.us/messages", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def message_with(demo: Demo, token: str, user_id: int, body: str, from_me: bool, ack: int = 0) -> dict | None:
    for message in await chat_messages(demo, token, user_id):
        if message["body"] == body and message["fromMe"] is from_me and message["ack"] >= ack:
            return message
    return None


@pytest.mark.browser
async def test_demo_links_the_phone_page_and_carries_messages_both_ways(demo, launch_browser, request):
    # A visitor registers and starts WhatsApp in wamulti.
    response = await demo.client.post("/api/auth/register", json={"username": "visitor", "password": TEST_PASSWORD})
    assert response.status_code == 201, response.text
    token, user_id = response.json()["token"], response.json()["user"]["id"]
    response = await demo.client.post(f"/api/whatsapp/start/{user_id}", headers=bearer(token))
    assert response.status_code == 202, response.text

    # The phone page lists the session's QR code: the one wamulti shows.
    browser = await launch_browser()
    page = await browser.newPage()
    await page.setViewport(DESKTOP)
    ui = UI(page, demo.urls["phone"], f"{artifact_prefix(request)}-phone")
    await page.goto(demo.urls["phone"], waitUntil="load")
    await ui.fill("#phone-number", f"+{PHONE}")
    await ui.fill("#phone-name", "Visitor's phone")
    await ui.click("#phone-form button[type=submit]")
    await ui.text_of("#phone-status", f"Playing +{PHONE} (Visitor's phone): no web page is linked")

    async def qr_shown_by_both() -> str | None:
        status = await session_status(demo, token, user_id)
        assert status["state"] in ("STARTING", "QR"), f"{status['state']}: {status['error']}"
        if status["state"] != "QR":
            return None
        qr = (await demo.client.get(f"/api/whatsapp/qr/{user_id}", headers=bearer(token))).json().get("qr")
        listed = await page.evaluate("() => [...document.querySelectorAll('#qr-list [data-qr]')].map((e) => e.dataset.qr)")
        return qr if qr in listed else None

    qr = await wait_until(qr_shown_by_both, 40, "the session's QR code on the phone page")
    await ui.shot("qr")
    await page.evaluate("(qr) => [...document.querySelectorAll('#qr-list [data-qr]')].find((e) => e.dataset.qr === qr).querySelector('button.scan').click()", qr)

    async def connected() -> dict | None:
        status = await session_status(demo, token, user_id)
        return status if status["state"] == "CONNECTED" else None

    status = await wait_until(connected, 30, "the session to connect after the scan")
    assert (status["phone"], status["pushname"]) == (PHONE, "Visitor's phone")
    await ui.text_of("#phone-status", "1 linked web page, 1 online")

    # A contact writes to the phone: wamulti stores it.
    await ui.fill("#contact-number", CONTACT)
    await ui.fill("#contact-name", "Bob <b>")
    await ui.fill("#contact-text", "hello from Bob")
    await ui.click("#new-chat-form button[type=submit]")
    await ui.text_of("#conversation-title", f"Chat with Bob <b> (+{CONTACT})")
    await wait_until(lambda: message_with(demo, token, user_id, "hello from Bob", from_me=False), 20,
                     "the contact's message in wamulti")

    # wamulti sends to the contact: the phone page shows it in the open chat, delivered.
    response = await demo.client.post(f"/api/whatsapp/send/{user_id}", headers=bearer(token),
                                      json={"to": f"+{CONTACT}", "message": "hi Bob, from wamulti"})
    assert response.status_code == 201, response.text
    sent_id = response.json()["id"]
    await ui.until("(id) => document.querySelector(`#messages li.out[data-id='${id}'][data-ack='2']`)", sent_id,
                   what="wamulti's message delivered on the phone page")
    assert await ui.text(f"#messages li.out[data-id='{sent_id}'] .body") == "hi Bob, from wamulti"

    # The contact reads it: blue ticks in wamulti. The phone replies from its own app: wamulti
    # shows it as sent by the user.
    await ui.click("#contact-reads")
    await ui.text_of("#notice", "1 message now read")
    await wait_until(lambda: message_with(demo, token, user_id, "hi Bob, from wamulti", from_me=True, ack=3), 20,
                     "the read ack in wamulti")
    await ui.fill("#as-phone-text", "typed on the phone")
    await ui.click("#as-phone-form button[type=submit]")
    await wait_until(lambda: message_with(demo, token, user_id, "typed on the phone", from_me=True), 20,
                     "the phone's own message in wamulti")
    await ui.until("() => document.querySelectorAll('#messages li').length === 3", what="three messages in the chat")
    await ui.shot("chat")
    assert await page.evaluate("() => document.querySelectorAll('#conversation b').length") == 0, "names are text"
    ui.assert_clean()

    # Ctrl-C stops both servers and the session's browser.
    assert await demo.stop(signal.SIGINT) == 0, demo.log_text()[-3000:]
    assert "Traceback" not in demo.log_text(), demo.log_text()[-3000:]
    profile = Path(demo.log).parent / "demo-data" / "sessions" / str(user_id)
    assert profile.is_dir()
    assert profile_processes(profile) == [], "the session's browser outlived the demo"


async def next_frame(socket: Any, kind: str) -> dict[str, Any]:
    """Frames the simulator sends a page, up to the first of type ``kind``."""
    while True:
        raw = await asyncio.wait_for(socket.read_message(), 10)
        assert raw is not None, f"the simulator closed the page's socket before {kind}"
        frame = json.loads(raw)
        if frame["type"] == kind:
            return frame


async def test_the_phone_page_and_the_control_calls_it_reads(fakewa):
    page = await fakewa.request("GET", "__sim/phone")
    assert page.status_code == 200 and "phone.js" in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert await fakewa.pages() == [] and await fakewa.phones() == []

    # A page that opens without a credential shows a QR code: the listed payload links it.
    socket = await websocket_connect(fakewa.url.replace("http://", "ws://") + "ws/chat")
    keys = {k: base64.b64encode(secrets.token_bytes(32)).decode() for k in ("static", "identity", "adv")}
    socket.write_message(json.dumps({"type": "hello", "cred": None, "keys": keys}))
    ref = (await next_frame(socket, "ref"))["ref"]
    qr = ",".join([ref, keys["static"], keys["identity"], keys["adv"], "WEB"])
    assert await fakewa.pages() == [{"state": "UNPAIRED", "qr": qr, "phone": None}]

    await fakewa.scan(qr, PHONE, "Visitor")
    assert await fakewa.pages() == [{"state": "PAIRING", "qr": None, "phone": None}]
    socket.write_message(json.dumps({"type": "login", "cred": (await next_frame(socket, "paired"))["cred"]}))
    await next_frame(socket, "connected")
    assert await fakewa.pages() == [{"state": "CONNECTED", "qr": None, "phone": PHONE}]
    await fakewa.incoming(PHONE, CONTACT, "hi", pushname="Bob")
    assert sorted(await fakewa.phones(), key=lambda p: p["phone"]) == [
        {"phone": PHONE, "pushname": "Visitor", "devices": 1, "online": 1},
        {"phone": CONTACT, "pushname": "Bob", "devices": 0, "online": 0},
    ]

    socket.close()

    async def no_pages() -> bool:
        return await fakewa.pages() == []

    await wait_until(no_pages, 10, "the closed page to leave the list", interval=0.05)
    assert [p["online"] for p in await fakewa.phones() if p["phone"] == PHONE] == [0]

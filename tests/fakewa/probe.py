"""A few lines of JavaScript standing in for a driver, for the simulator's own tests.

They use only the site's surface (``window.require`` modules and their events), like
``clients/bridge.js`` does, and record what they see in ``window.__probe``.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from pyppeteer.browser import Browser
from pyppeteer.page import Page

# Installed before the page's own scripts, on every navigation; listens from Debug.VERSION on.
PROBE_JS = """() => {
  if (window.top !== window) return;
  const log = window.__probe = [];
  const record = (e) => {
    log.push(e);
    if (window.__probeEmit) window.__probeEmit(JSON.stringify(e));  // survives navigations
  };
  const install = () => {
    const {Socket} = require('WAWebSocketModel'), {Conn} = require('WAWebConnModel');
    const {Cmd} = require('WAWebCmd'), {Msg, Chat} = require('WAWebCollections');
    record({ev: 'ready', state: Socket.state, ref: Conn.ref});
    Socket.on('change:state', (m, v) => record({ev: 'state', value: v}));
    Socket.on('change:hasSynced', (m, v) => record({ev: 'hasSynced', value: v}));
    Conn.on('change:ref', (m, v) => record({ev: 'ref', value: v}));
    Cmd.on('logout', () => record({ev: 'logout'}));
    Cmd.on('logout_from_bridge', () => record({ev: 'logout_from_bridge'}));
    Msg.on('add', (m) => record({ev: 'msg', msg: m.serialize()}));
    Msg.on('change:ack', (m, v) => record({ev: 'ack', id: String(m.id), value: v}));
    Chat.on('add', (c) => record({ev: 'chat', chat: c.serialize()}));
    Chat.on('change:unreadCount', (c, v) => record({ev: 'unread', id: String(c.id), value: v}));
    Msg.on('change:body change:caption', (m) => record({ev: 'edit', msg: m.serialize()}));
    Msg.on('change:type', (m, v) => record({ev: 'type', id: String(m.id), value: v}));
    Msg.on('remove', (m) => record({ev: 'remove', id: String(m.id)}));
    const table = require('WAWebAddonReactionTableMode').reactionTableMode, upsert = table.bulkUpsert;
    table.bulkUpsert = function (rows) { record({ev: 'reactions', rows}); return upsert.apply(this, arguments); };
  };
  const poll = setInterval(() => {
    if (window.Debug && window.Debug.VERSION) { clearInterval(poll); install(); }
  }, 2);
}"""

# The QR payload the way drivers build it from the page: ref plus the registration keys.
QR_JS = """async () => {
  const ref = require('WAWebConnModel').Conn.ref;
  if (!ref) return null;
  const B64 = require('WABase64');
  const noise = await require('WAWebUserPrefsInfoStore').waNoiseInfo.get();
  const reg = await require('WAWebSignalStoreApi').waSignalStore.getRegistrationInfo();
  const adv = await require('WAWebUserPrefsMultiDevice').getADVSecretKey();
  const platform = require('WAWebCompanionRegClientUtils').DEVICE_PLATFORM;
  return [ref, B64.encodeB64(noise.staticKeyPair.pubKey), B64.encodeB64(reg.identityKeyPair.pubKey),
          adv, platform].join(',');
}"""

SEND_JS = """async (to, body) => {
  const wid = require('WAWebWidFactory').createWid(to);
  const {chat} = await require('WAWebFindChatAction').findOrCreateLatestChat(wid);
  const MsgKey = require('WAWebMsgKey');
  const me = require('WAWebUserPrefsMeUser').getMaybeMePnUser();
  const id = new MsgKey({from: me, to: chat.id, id: await MsgKey.newId(), selfDir: 'out'});
  const [added, sent] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat,
    {id, body, type: 'chat', from: me, to: chat.id, ack: 0, isNewMsg: true, local: true, self: 'out',
     t: Math.floor(Date.now() / 1000)});
  const msg = await added;
  window.__sent = window.__sent || {};
  sent.then((r) => { window.__sent[String(msg.id)] = r; });
  return msg.serialize();
}"""


async def open_page(browser: Browser, url: str, new_tab: bool = False) -> Page:
    """The browser's first tab (or a new one) with the probe installed, loaded at ``url``, modules ready.

    ``page.probe_history`` collects what the probe sees across navigations (a logout reloads).
    """
    pages = [] if new_tab else await browser.pages()
    page = pages[0] if pages else await browser.newPage()
    history: list[dict[str, Any]] = []
    page.probe_history = history
    await page.exposeFunction("__probeEmit", lambda text: history.append(json.loads(text)))
    await page.evaluateOnNewDocument(PROBE_JS)
    await page.goto(url)
    await wait_for(page, "window.__probe && window.__probe.length > 0")
    return page


async def evaluate(page: Page, expression: str) -> Any:
    return await page.evaluate(expression, force_expr=True)


async def probe_log(page: Page, ev: str | None = None) -> list[dict[str, Any]]:
    log = await evaluate(page, "window.__probe || []")
    return [e for e in log if ev is None or e["ev"] == ev]


async def wait_for(page: Page, expression: str, timeout: float = 10.0) -> Any:
    """Poll a JavaScript expression until it is truthy; on timeout, fail showing the probe log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            value = await evaluate(page, expression)
        except Exception as exc:  # the page is navigating; try again
            value, error = None, exc
        else:
            error = None
        if value:
            return value
        if loop.time() > deadline:
            log = await evaluate(page, "window.__probe || []")
            raise AssertionError(f"timed out waiting for {expression!r} (last error: {error})\n"
                                 f"probe log: {json.dumps(log)[:3000]}")
        await asyncio.sleep(0.03)


async def socket_state(page: Page) -> str:
    return await evaluate(page, "require('WAWebSocketModel').Socket.state")


async def wait_state(page: Page, state: str, timeout: float = 10.0) -> None:
    await wait_for(page, f"require('WAWebSocketModel').Socket.state === {json.dumps(state)}", timeout)


async def qr_payload(page: Page) -> str:
    return await page.evaluate(QR_JS)


async def link_page(page: Page, control: Any, phone: str, pushname: str | None = None) -> dict[str, Any]:
    """Scan the page's current QR with ``phone`` and wait until it is CONNECTED and synced."""
    await wait_state(page, "UNPAIRED")
    result = await control.scan(await qr_payload(page), phone, pushname)
    await wait_for(page, "require('WAWebSocketModel').Socket.hasSynced === true")
    return result


async def send_text(page: Page, to: str, body: str) -> dict[str, Any]:
    """Send like a driver does; returns the new message, serialized."""
    return await page.evaluate(SEND_JS, to, body)


async def open_wa(launch_browser: Any, url: str, profile_dir: Any = None) -> Page:
    """A new Chromium on ``profile_dir`` (a fresh one when None) showing the simulator's page."""
    browser = await launch_browser(profile_dir)
    return await open_page(browser, url)


async def eventually(check: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    """Await ``check()`` (a coroutine function) until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.05)


async def device_online(control: Any, device_id: str) -> bool:
    return any(d["online"] for d in await control.devices() if d["id"] == device_id)

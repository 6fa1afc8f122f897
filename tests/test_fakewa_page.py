"""The simulator's page: the site's module surface, linking by QR, and keeping the login, in both
generations (test_fakewa_generations.py has what differs between them)."""
from __future__ import annotations

import pytest

from tests.fakewa.addressing import lid_wid
from tests.fakewa.probe import (
    device_online, evaluate, eventually, link_page, open_wa, probe_log, qr_payload, wait_for, wait_state,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.all_generations,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

ALICE, BOB = "79990000001", "79990000002"

SURFACE_JS = """() => {
  const kinds = {};
  for (const name of ['WAWebSocketModel', 'WAWebConnModel', 'WAWebCmd', 'WAWebCollections',
      'WAWebUserPrefsMeUser', 'WAWebWidFactory', 'WAWebFindChatAction', 'WAWebMsgKey',
      'WAWebSendMsgChatAction']) {
    kinds[name] = typeof require(name);
  }
  const {Socket} = require('WAWebSocketModel'), {Conn} = require('WAWebConnModel');
  const {Cmd} = require('WAWebCmd'), {Chat, Msg, Contact} = require('WAWebCollections');
  const MsgKey = require('WAWebMsgKey');
  const wid = require('WAWebWidFactory').createWid('79991234567@c.us');
  const key = new MsgKey({from: wid, to: require('WAWebWidFactory').createWid('79990000009@c.us'),
                          id: 'ABC', selfDir: 'out'});
  let unknown = null;
  try { require('WAWebNoSuchModule'); } catch (e) { unknown = e.message; }
  // Backbone-like emitters: two events in one registration, (model, new, previous), off().
  const seen = [];
  const listener = (model, value, previous) => seen.push([model === Conn, value, previous]);
  Conn.on('change:pushname change:platform', listener);
  Conn.set('pushname', 'x'); Conn.set('platform', 'y');
  Conn.off('change:pushname change:platform', listener);
  Conn.set('pushname', 'z');
  return {
    kinds, unknown, seen,
    version: window.Debug.VERSION,
    driver: typeof window.WADriver,
    socket: [Socket.state, Socket.hasSynced, typeof Socket.on, typeof Socket.off,
             typeof Socket.logout, typeof Socket.takeover],
    conn: [typeof Conn.serialize, 'ref' in Conn, typeof Cmd.refreshQR, typeof Cmd.on],
    collections: [Chat, Msg, Contact].map((c) => [typeof c.get, Array.isArray(c.getModelsArray())]),
    me: require('WAWebUserPrefsMeUser').getMaybeMePnUser(),
    wid: {server: wid.server, user: wid.user, _serialized: wid._serialized},
    key: [String(key), key.fromMe, key.remote._serialized],
    newId: MsgKey.newId() instanceof Promise,
    sendReturns: typeof require('WAWebSendMsgChatAction').addAndSendMsgToChat,
  };
}"""


# The device credential as the page keeps it in IndexedDB (null when there is none).
STORED_CREDENTIAL_JS = """() => new Promise((resolve) => {
  const req = indexedDB.open('wawc');
  req.onupgradeneeded = () => req.result.createObjectStore('user');
  req.onsuccess = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains('user')) { db.close(); resolve(null); return; }
    const get = db.transaction('user').objectStore('user').get('credential');
    get.onsuccess = () => { db.close(); resolve(get.result || null); };
  };
})"""


async def test_page_offers_the_site_surface_and_no_driver(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    surface = await page.evaluate(SURFACE_JS)

    assert surface["driver"] == "undefined"
    assert surface["version"].startswith("2.3000.")
    assert set(surface["kinds"].values()) <= {"object", "function"}
    assert "WAWebNoSuchModule" in surface["unknown"]
    assert surface["socket"][2:] == ["function"] * 4 and surface["socket"][1] is False
    assert surface["conn"] == ["function", True, "function", "function"]
    assert surface["collections"] == [["function", True]] * 3
    assert surface["me"] is None  # nobody logged in yet
    assert surface["wid"] == {"server": "c.us", "user": "79991234567", "_serialized": "79991234567@c.us"}
    assert surface["key"] == ["true_79990000009@c.us_ABC", True, "79990000009@c.us"]
    assert surface["newId"] is True
    assert surface["seen"] == [[True, "x", None], [True, "y", "web"]]


async def test_scan_links_the_device_and_syncs_its_chats(fakewa, launch_browser):
    await fakewa.incoming(ALICE, BOB, "sent before linking", pushname="Bob")
    page = await open_wa(launch_browser, fakewa.url)
    await wait_state(page, "UNPAIRED")
    qr = await qr_payload(page)
    ref, static, identity, adv, platform = qr.split(",")
    assert ref.startswith("2@") and ref == await evaluate(page, "require('WAWebConnModel').Conn.ref")
    assert [len(k) for k in (static, identity, adv)] == [44, 44, 44] and platform
    assert await evaluate(page, "document.querySelector('[data-ref]').dataset.ref") == qr

    result = await fakewa.scan(qr, ALICE, "Alice")
    assert result["phone"] == ALICE
    await wait_for(page, "require('WAWebSocketModel').Socket.hasSynced === true")

    states = [e["value"] for e in await probe_log(page, "state")]
    assert states == ["UNPAIRED", "PAIRING", "CONNECTED"]
    assert await evaluate(page, "require('WAWebUserPrefsMeUser').getMaybeMePnUser()._serialized") == f"{ALICE}@c.us"
    assert await evaluate(page, "require('WAWebConnModel').Conn.pushname") == "Alice"
    bob = lid_wid(BOB) if fakewa.settings.lids else f"{BOB}@c.us"  # Bob wrote first: by LID on 2026-08
    chat = await evaluate(page, f"require('WAWebCollections').Chat.get('{bob}').serialize()")
    assert chat["id"]["_serialized"] == bob and chat["name"] == "Bob" and chat["isGroup"] is False
    synced = await evaluate(page, f"require('WAWebCollections').Chat.get('{bob}').msgs.serialize()")
    assert [(m["body"], m["isNewMsg"], m["id"]["fromMe"]) for m in synced] == [("sent before linking", False, False)]

    stored = await evaluate(page, "localStorage.getItem('WAWebDeviceCredential')")
    assert stored and result["device"] in stored
    assert (await page.evaluate(STORED_CREDENTIAL_JS))["deviceId"] == result["device"]
    [device] = await fakewa.devices()
    assert device["id"] == result["device"] and device["online"] and device["phone"] == ALICE


async def test_scanning_twice_or_a_made_up_payload_is_refused(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await wait_state(page, "UNPAIRED")
    qr = await qr_payload(page)
    made_up = await fakewa.request("POST", "__sim/scan", {"qr": "2@nope,a,b,c,WEB", "phone": ALICE})
    assert made_up.status_code == 404 and "QR" in made_up.json()["error"]
    await fakewa.scan(qr, ALICE)
    again = await fakewa.request("POST", "__sim/scan", {"qr": qr, "phone": BOB})
    assert again.status_code == 404


async def test_login_survives_a_browser_restart_on_the_same_profile(fakewa, launch_browser, tmp_path):
    profile = tmp_path / "alice-profile"
    page = await open_wa(launch_browser, fakewa.url, profile)
    linked = await link_page(page, fakewa, ALICE, "Alice")
    await launch_browser.close(page.browser)
    await eventually(lambda: is_offline(fakewa, linked["device"]), what="the device to go offline")

    page = await open_wa(launch_browser, fakewa.url, profile)
    await wait_for(page, "require('WAWebSocketModel').Socket.hasSynced === true")
    log = await probe_log(page)
    assert log[0] == {"ev": "ready", "state": "OPENING", "ref": None}
    assert [e["value"] for e in log if e["ev"] == "state"] == ["CONNECTED"]  # no QR on the way
    assert not [e for e in log if e["ev"] == "ref"]
    [device] = await fakewa.devices()
    assert device["id"] == linked["device"] and device["online"]


async def test_unlinking_from_the_phone_clears_storage_and_shows_the_qr(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    assert await fakewa.logout(ALICE) == 1

    await wait_for(page, "location.search === '?post_logout=1'")
    await wait_state(page, "UNPAIRED")
    assert [e["ev"] for e in page.probe_history if "logout" in e["ev"]] == ["logout_from_bridge"]
    assert await evaluate(page, "localStorage.length") == 0
    assert await page.evaluate(STORED_CREDENTIAL_JS) is None
    assert await fakewa.devices() == []
    # The QR shown now links again.
    await fakewa.scan(await qr_payload(page), ALICE)
    await wait_state(page, "CONNECTED")


async def test_local_logout_announces_logout_and_unlinks(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    await page.evaluate("() => { require('WAWebSocketModel').Socket.logout(); }")
    await wait_for(page, "location.search === '?post_logout=1'")
    await wait_state(page, "UNPAIRED")
    assert [e["ev"] for e in page.probe_history if "logout" in e["ev"]] == ["logout"]
    assert await evaluate(page, "localStorage.getItem('WAWebDeviceCredential')") is None
    assert await fakewa.devices() == []


async def test_a_credential_revoked_while_closed_logs_the_page_out(fakewa, launch_browser, tmp_path):
    profile = tmp_path / "profile"
    page = await open_wa(launch_browser, fakewa.url, profile)
    await link_page(page, fakewa, ALICE)
    await launch_browser.close(page.browser)
    await fakewa.logout(ALICE)

    browser = await launch_browser(profile)
    page = (await browser.pages())[0]
    await page.goto(fakewa.url)
    await wait_for(page, "location.search === '?post_logout=1'")
    await wait_state(page, "UNPAIRED")
    assert await evaluate(page, "localStorage.getItem('WAWebDeviceCredential')") is None
    assert await page.evaluate(STORED_CREDENTIAL_JS) is None


async def is_offline(fakewa, device_id: str) -> bool:
    return not await device_online(fakewa, device_id)

"""The simulator's page in both generations, driven the way other drivers drive the site
(tests/fakewa/probe.py): message keys (``_serialized`` or the minified ``$1``), ciphertext
placeholders, LIDs, the modules that moved in 2026, modules that load only after login, and
linking with a pairing code (WAWebAltDeviceLinkingApi, WAWebLinkDeviceEvents)."""
from __future__ import annotations

import pytest

from tests.fakewa import SimSettings
from tests.fakewa.addressing import lid_wid
from tests.fakewa.probe import evaluate, link_page, open_wa, probe_log, wait_for, wait_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.all_generations,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

ALICE, BOB = "79990000001", "79990000002"

KEY_JS = """(id) => {
  const msg = require('WAWebCollections').Msg.get(id);
  const key = msg.id, MsgKey = require('WAWebMsgKey');
  return {own: Object.keys(key).sort(), serialized: msg.serialize().id, string: String(key),
          isKey: key instanceof MsgKey, sameModel: require('WAWebCollections').Msg.get(String(key)) === msg};
}"""

MODULES_JS = """async () => {
  const out = {};
  const msgCollection = require('WAWebMsgCollection');
  out.msgCollection = msgCollection === require('WAWebCollections').Msg ? 'instance' : Object.keys(msgCollection).join(',');
  out.reaction = typeof require('WAWebSendReactionMsgAction');
  out.reactionMethod = typeof require('WAWebSendReactionMsgAction').sendReactionToMsg;
  const chat = require('WAWebCollections').Chat.getModelsArray()[0];
  try { await require('WAWebUpdateUnreadChatAction').sendSeen(chat); out.seenWithChat = 'ok'; }
  catch (e) { out.seenWithChat = e.message; }
  out.seenWithObject = await require('WAWebUpdateUnreadChatAction').sendSeen({chat, threadId: undefined});
  try {
    await require('WAWebDownloadManager').downloadManager.downloadAndMaybeDecrypt({directPath: '/v/none'});
    out.downloadWithoutQpl = 'ok';
  } catch (e) { out.downloadWithoutQpl = e.message; }
  return out;
}"""

LAZY_JS = """() => ['WAWebQueryExistsJob', 'WAWebGroupCreateJob', 'WAWebContactProfilePicThumbBridge', 'WAWebApiContact']
  .map((name) => { try { require(name); return 'there'; } catch (e) { return e.message; } })"""


async def test_message_keys_and_ciphertext_placeholders(fakewa, launch_browser):
    lids = fakewa.settings.lids
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    sent = await fakewa.incoming(ALICE, BOB, "hello")
    msg_id = sent["id"]["_serialized"]
    await wait_for(page, f"(require('WAWebCollections').Msg.get('{msg_id}') || {{}}).body === 'hello'")

    key = await page.evaluate(KEY_JS, msg_id)
    field = "$1" if lids else "_serialized"
    assert key["own"] == sorted(["fromMe", "id", "remote", field]) and key["isKey"] and key["sameModel"]
    assert key["string"] == msg_id and key["serialized"][field] == msg_id
    assert ("_serialized" in key["serialized"]) is not lids  # a plain object without _serialized on 2026-08
    assert msg_id.startswith(f"false_{lid_wid(BOB) if lids else BOB + '@c.us'}_")

    [added] = [e["msg"] for e in await probe_log(page, "msg")]
    types = [e["value"] for e in await probe_log(page, "type")]
    if lids:  # it landed before its keys: type ciphertext, nothing said, then the same model changed
        assert (added["type"], added["body"], added["from"]["_serialized"]) == ("ciphertext", "", lid_wid(BOB))
        assert types == ["chat"]
    else:
        assert (added["type"], added["body"]) == ("chat", "hello") and types == []


async def test_lids_of_the_page(fakewa, launch_browser):
    lids = fakewa.settings.lids
    await fakewa.phone_join(BOB)
    page = await open_wa(launch_browser, fakewa.url)
    await wait_state(page, "UNPAIRED")
    lazy_before = await page.evaluate(LAZY_JS)
    await link_page(page, fakewa, ALICE)
    assert await page.evaluate(LAZY_JS) == ["there"] * 4
    if lids:  # the query, picture and group modules come with the chunk loaded after login
        assert [m.split('"')[1] if "unknown module" in m else m for m in lazy_before] == [
            "WAWebQueryExistsJob", "WAWebGroupCreateJob", "WAWebContactProfilePicThumbBridge", "there"]
    else:
        assert lazy_before == ["there"] * 4

    me_lid = await evaluate(page, "String(require('WAWebUserPrefsMeUser').getMaybeMeLidUser())")
    assert me_lid == (lid_wid(ALICE) if lids else "null")
    found = await page.evaluate("""async (pn) => {
      const W = require('WAWebWidFactory'), api = require('WAWebApiContact');
      const before = String(api.getCurrentLid(W.createWid(pn)));
      const result = await require('WAWebQueryExistsJob').queryWidExists(W.createWid(pn));
      const lid = api.getCurrentLid(W.createWid(pn));
      return {before, wid: String(result.wid), lid: String(lid),
              back: lid ? String(api.getPhoneNumber(lid)) : null, all: api.getAllLidContacts().map(String)};
    }""", f"{BOB}@c.us")
    if lids:
        assert found == {"before": "null", "wid": f"{BOB}@c.us", "lid": lid_wid(BOB), "back": f"{BOB}@c.us",
                         "all": [lid_wid(BOB)]}
    else:
        assert found == {"before": "null", "wid": f"{BOB}@c.us", "lid": "null", "back": None, "all": []}
    assert await page.evaluate("(pn) => require('WAWebQueryExistsJob').queryWidExists("
                               "require('WAWebWidFactory').createWid(pn))", "79995550000@c.us") is None


async def test_modules_that_moved_in_2026(fakewa, launch_browser):
    lids = fakewa.settings.lids
    page = await open_wa(launch_browser, fakewa.url)
    await fakewa.incoming(ALICE, BOB, "so that there is a chat")
    await link_page(page, fakewa, ALICE)
    found = await page.evaluate(MODULES_JS)
    assert found["reactionMethod"] == "function" and found["seenWithObject"] is True
    if lids:
        assert found["msgCollection"] == "instance" and found["reaction"] == "object"
        assert "expected {chat, threadId}" in found["seenWithChat"]
        assert "addPoint" in found["downloadWithoutQpl"]
    else:
        assert found["msgCollection"] == "MsgCollection" and found["reaction"] == "function"
        assert found["seenWithChat"] == "ok"
        assert "HTTP 404" in found["downloadWithoutQpl"]


CODE_JS = """async (phone) => {
  const api = require('WAWebAltDeviceLinkingApi');
  const events = require('WAWebLinkDeviceEvents').LinkDeviceEvents;
  window.__linkEvents = [];
  for (const name of ['refresh_alt_linking_code', 'primary_hello_received']) {
    events.on('link_device_events:' + name, () => window.__linkEvents.push(name));
  }
  let early;
  try { await api.startAltLinkingFlow(phone, true); } catch (e) { early = e.message; }
  api.setPairingType('ALT_DEVICE_LINKING');
  await api.initializeAltDeviceLinking();
  return {early, code: await api.startAltLinkingFlow(phone, true)};
}"""


class TestPairingCodes:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, pair_code_ttl=1.5)

    async def test_a_code_lives_its_time_then_the_page_asks_for_another(self, fakewa, launch_browser):
        await fakewa.phone_join(ALICE)
        page = await open_wa(launch_browser, fakewa.url)
        await wait_state(page, "UNPAIRED")
        first = await page.evaluate(CODE_JS, ALICE)
        assert "not initialized" in first["early"] and len(first["code"]) == 8
        await wait_for(page, "window.__linkEvents.includes('refresh_alt_linking_code')")
        expired = await fakewa.request("POST", "__sim/pair", {"phone": ALICE, "code": first["code"]})
        assert expired.status_code == 404

        code = await page.evaluate(f"() => require('WAWebAltDeviceLinkingApi').startAltLinkingFlow('{ALICE}', true)")
        assert code != first["code"]
        linked = await fakewa.pair(ALICE, code[:4] + "-" + code[4:], "Alice")
        assert linked["phone"] == ALICE
        await wait_for(page, "require('WAWebSocketModel').Socket.hasSynced === true")
        assert await evaluate(page, "window.__linkEvents") == ["refresh_alt_linking_code", "primary_hello_received"]
        states = [e["value"] for e in await probe_log(page, "state")]
        assert states[-2:] == ["PAIRING", "CONNECTED"]

"""The simulator's page offers the site's media and message-action modules: driven here the way
whatsapp-web.js and wa-js drive them (tests/fakewa/probe.py standing in for a driver)."""
from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from tests.fakewa import SimSettings
from tests.fakewa.probe import evaluate, link_page, open_wa, probe_log, send_text, wait_for
from tests.support.clients import phone_message
from tests.support.files import b64, png_bytes, sha256_hex

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

ALICE, BOB = "79990000001", "79990000002"

# The flow of whatsapp-web.js's processMediaData and sendMessage, on a base64 file.
SEND_FILE_JS = """async (to, data, mimetype, name, options) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const file = new File([bytes], name, {type: mimetype});
  const OpaqueData = require('WAWebMediaOpaqueData');
  const opaque = await OpaqueData.createFromData(file, mimetype);
  const mediaData = await require('WAWebPrepRawMedia').prepRawMedia(opaque, options).waitForPrep();
  const mediaObject = require('WAWebMediaStorage').getOrCreateMediaObject(mediaData.filehash);
  const mediaType = require('WAWebMmsMediaTypes').msgToMediaType({type: mediaData.type, isGif: mediaData.isGif});
  mediaObject.consolidate(mediaData.toJSON());
  const {mediaEntry} = await require('WAWebMediaMmsV4Upload').uploadMedia({mimetype: mediaData.mimetype, mediaObject, mediaType});
  mediaData.set({directPath: mediaEntry.directPath, mediaKey: mediaEntry.mediaKey, encFilehash: mediaEntry.encFilehash,
                 mediaKeyTimestamp: mediaEntry.mediaKeyTimestamp});
  const wid = require('WAWebWidFactory').createWid(to);
  const {chat} = await require('WAWebFindChatAction').findOrCreateLatestChat(wid);
  const MsgKey = require('WAWebMsgKey');
  const me = require('WAWebUserPrefsMeUser').getMaybeMePnUser();
  const id = new MsgKey({from: me, to: chat.id, id: await MsgKey.newId(), selfDir: 'out'});
  const [added] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {
    ...mediaData.toJSON(), id, from: me, to: chat.id, body: mediaData.preview || '', caption: 'sent by a driver',
    ack: 0, isNewMsg: true, local: true, self: 'out', t: Math.floor(Date.now() / 1000)});
  const msg = await added;
  const json = mediaData.toJSON();
  return {type: json.type, filehash: json.filehash, size: json.size, width: json.width, height: json.height,
          preview: json.preview || null, mediaType, directPath: mediaEntry.directPath, id: msg.id._serialized,
          limits: [require('WAWebMediaGatingUtils').getUploadLimit('image'),
                   require('WAWebMediaGatingUtils').getUploadLimit('document')]};
}"""

DOWNLOAD_JS = """async (id) => {
  const msg = require('WAWebCollections').Msg.get(id);
  const before = msg.mediaData.mediaStage;
  await msg.downloadMedia({downloadEvenIfExpensive: true, rmrReason: 1});
  const after = msg.mediaData.mediaStage;
  try {
    const buffer = await require('WAWebDownloadManager').downloadManager.downloadAndMaybeDecrypt({
      directPath: msg.directPath, encFilehash: msg.encFilehash, filehash: msg.filehash, mediaKey: msg.mediaKey,
      mediaKeyTimestamp: msg.mediaKeyTimestamp, type: msg.type, signal: new AbortController().signal,
      downloadQpl: {addPoint() { return this; }, addAnnotations() { return this; }}});
    const hex = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', buffer)),
                           (b) => b.toString(16).padStart(2, '0')).join('');
    return {before, after, sha256: hex};
  } catch (e) {
    return {before, after, status: e.status, error: e.message};
  }
}"""


async def test_a_picture_is_prepared_uploaded_and_sent_as_the_site_does(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    picture = png_bytes(64, 48, seed=7)

    sent = await page.evaluate(SEND_FILE_JS, f"{BOB}@c.us", b64(picture), "image/png", "p.png", {})
    assert sent["type"] == "image" and sent["mediaType"] == "image" and (sent["width"], sent["height"]) == (64, 48)
    assert sent["filehash"] == base64.b64encode(hashlib.sha256(picture).digest()).decode() and sent["size"] == len(picture)
    thumbnail = base64.b64decode(sent["preview"])
    assert thumbnail[:3] == b"\xff\xd8\xff" and len(thumbnail) < len(picture)
    assert sent["directPath"].startswith("/v/")
    assert sent["limits"] == [fakewa.settings.media_limit, fakewa.settings.document_limit]
    got = await phone_message(fakewa, BOB, lambda m: m["type"] == "image", "the picture")
    assert got["media"]["sha256"] == sha256_hex(picture) and got["caption"] == "sent by a driver"

    # A voice note must be audio; a document keeps its name.
    with pytest.raises(Exception, match="a voice note is audio"):
        await page.evaluate(SEND_FILE_JS, f"{BOB}@c.us", b64(picture), "image/png", "p.png", {"isPtt": True})
    doc = await page.evaluate(SEND_FILE_JS, f"{BOB}@c.us", b64(b"%PDF-1.4"), "application/pdf", "a.pdf", {"asDocument": True})
    assert doc["type"] == "document" and doc["preview"] is None
    listed = await phone_message(fakewa, BOB, lambda m: m["type"] == "document", "the document")
    assert listed["media"]["filename"] == "a.pdf"


async def test_downloads_resolve_and_an_expired_file_shows_reuploading(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    kept, lost = png_bytes(5, 5, seed=1), png_bytes(6, 6, seed=2)
    one = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(kept)})
    two = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(lost)})
    await wait_for(page, "window.__probe.filter((e) => e.ev === 'msg').length === 2")
    [first, second] = [e["msg"] for e in await probe_log(page, "msg")]
    assert first["directPath"].startswith("/v/") and len(base64.b64decode(first["mediaKey"])) == 32
    assert base64.b64decode(first["body"])[:2] == b"\xff\xd8"  # the thumbnail is the body, as on the site

    got = await page.evaluate(DOWNLOAD_JS, one["id"]["_serialized"])
    assert got == {"before": "INIT", "after": "RESOLVED", "sha256": sha256_hex(kept)}
    await fakewa.expire_media(sha256_hex(lost))
    gone = await page.evaluate(DOWNLOAD_JS, two["id"]["_serialized"])
    assert (gone["before"], gone["after"], gone["status"]) == ("INIT", "REUPLOADING", 404)
    assert second["id"]["_serialized"] == two["id"]["_serialized"]


async def test_what_the_phone_does_lands_on_the_page_models(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    mine = await send_text(page, f"{BOB}@c.us", "mine")
    theirs = await fakewa.incoming(ALICE, BOB, "theirs")
    await wait_for(page, f"!!require('WAWebCollections').Msg.get('{theirs['id']['_serialized']}')")

    await fakewa.react(BOB, ALICE, mine["id"]["id"], "🔥")
    await wait_for(page, "window.__probe.some((e) => e.ev === 'reactions')")
    [call] = await probe_log(page, "reactions")
    [row] = call["rows"]
    assert (row["parentMsgKey"], row["senderUserJid"], row["reactionText"]) == (mine["id"]["_serialized"], f"{BOB}@c.us", "🔥")
    table = f"require('WAWebAddonReactionTableMode').reactionTableMode.byParent('{mine['id']['_serialized']}').length"
    assert await evaluate(page, table) == 1

    await fakewa.edit(BOB, ALICE, theirs["id"]["id"], "theirs, edited")
    await wait_for(page, "window.__probe.some((e) => e.ev === 'edit')")
    [edit] = await probe_log(page, "edit")
    assert edit["msg"]["body"] == "theirs, edited" and edit["msg"]["latestEditMsgKey"].startswith(f"false_{BOB}@c.us_")
    await fakewa.revoke(BOB, ALICE, theirs["id"]["id"])
    await wait_for(page, "window.__probe.some((e) => e.ev === 'type')")
    assert await probe_log(page, "type") == [{"ev": "type", "id": theirs["id"]["_serialized"], "value": "revoked"}]
    assert await evaluate(page, f"require('WAWebCollections').Msg.get('{theirs['id']['_serialized']}').body") == ""


async def test_the_page_refuses_what_whatsapp_refuses(fakewa, launch_browser):
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    mine = await send_text(page, f"{BOB}@c.us", "mine")
    theirs = await fakewa.incoming(ALICE, BOB, "theirs")
    await wait_for(page, f"!!require('WAWebCollections').Msg.get('{theirs['id']['_serialized']}')")
    caps = """(a, b) => {
      const {Msg} = require('WAWebCollections'), cap = require('WAWebMsgActionCapability');
      const reply = require('WAWebMsgReply');
      return [cap.canEditMsg(Msg.get(a)), cap.canEditMsg(Msg.get(b)), cap.canSenderRevokeMsg(Msg.get(a)),
              cap.canSenderRevokeMsg(Msg.get(b)), reply.canReplyMsg(Msg.get(b))];
    }"""
    assert await page.evaluate(caps, mine["id"]["_serialized"], theirs["id"]["_serialized"]) == [True, False, True, False, True]
    refused = await page.evaluate("""async (b) => {
      const msg = require('WAWebCollections').Msg.get(b);
      try { await require('WAWebSendMessageEditAction').sendMessageEdit(msg, 'x', {}); return 'edited'; }
      catch (e) { return e.message; }
    }""", theirs["id"]["_serialized"])
    assert "cannot be edited" in refused


class TestShortEditWindow:
    @pytest.fixture
    def fakewa_settings(self) -> SimSettings:
        return SimSettings.fast(edit_window=1.0)

    async def test_can_edit_only_within_the_window(self, fakewa, launch_browser):
        page = await open_wa(launch_browser, fakewa.url)
        await link_page(page, fakewa, ALICE)
        mine = await send_text(page, f"{BOB}@c.us", "quick")
        can_edit = f"require('WAWebMsgActionCapability').canEditMsg(require('WAWebCollections').Msg.get('{mine['id']['_serialized']}'))"
        assert await evaluate(page, can_edit) is True
        await asyncio.sleep(2.1)
        assert await evaluate(page, can_edit) is False

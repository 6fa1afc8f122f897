"""clients/bridge.js itself, injected into the simulator's page and called as the session calls
it: the bounds of its file transfers (size, count, idle time, chunk size; freed on every end),
and what it makes of the site's data (no media secret in any output; both shapes of reaction rows)."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest

from clients.session import BRIDGE_SOURCE
from tests.fakewa import SimSettings
from tests.fakewa.probe import link_page, open_wa, wait_for
from tests.support.files import b64, png_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.all_generations,
    pytest.mark.filterwarnings("ignore:remove loop argument:DeprecationWarning"),  # pyppeteer's websockets
]

ALICE, BOB = "79990000001", "79990000002"
CHUNK = 256 * 1024


async def bridged(launch_browser, fakewa, **options):
    """A linked simulator page with the bridge in it; its events collect in window.__events."""
    page = await open_wa(launch_browser, fakewa.url)
    await link_page(page, fakewa, ALICE)
    await page.evaluate("() => { window.__events = []; window.__wadEmit = (t, p) => { window.__events.push([t, JSON.parse(p)]); }; }")
    await page.evaluate(BRIDGE_SOURCE, force_expr=True)
    await page.evaluate("(o) => window.WADriver.init(o)", options)
    return page


def decrypted(msg_id: str) -> str:
    """A page holds the message with what it says (a 2026-08 page decrypts it a moment after it lands)."""
    return f"(require('WAWebCollections').Msg.get('{msg_id}') || {{}}).type !== undefined && " \
           f"require('WAWebCollections').Msg.get('{msg_id}').type !== 'ciphertext'"


async def call(page, name: str, *args):
    return await page.evaluate(f"(...a) => window.WADriver.{name}(...a)", *args)


async def refusal(page, name: str, *args) -> str:
    """The message of the error a WADriver call throws."""
    return await page.evaluate(f"""async (...a) => {{
      try {{ await window.WADriver.{name}(...a); return 'no error'; }} catch (e) {{ return e.message; }}
    }}""", *args)


async def held(page) -> dict:
    return await call(page, "mediaTransfers")


async def test_uploads_are_bounded_and_freed_whatever_happens(fakewa, launch_browser):
    page = await bridged(launch_browser, fakewa, mediaBufferBytes=CHUNK * 3, mediaHandles=2, mediaIdleMs=300)
    assert await refusal(page, "mediaBegin", {"size": 0}) == "WAD:media: the file is empty"
    assert "holds at most" in await refusal(page, "mediaBegin", {"size": CHUNK * 3 + 1})

    a = await call(page, "mediaBegin", {"size": 10})
    assert await call(page, "mediaChunk", a, b64(b"0123")) == 4
    assert await held(page) == {"count": 1, "bytes": 10}
    assert "more bytes than announced" in await refusal(page, "mediaChunk", a, b64(b"4567890"))
    assert await held(page) == {"count": 0, "bytes": 0}  # an error frees it

    b = await call(page, "mediaBegin", {"size": CHUNK * 2})
    assert "at most 262144 bytes" in await refusal(page, "mediaChunk", b, b64(b"x" * (CHUNK + 1)))
    assert "not base64" in await refusal(page, "mediaChunk", await call(page, "mediaBegin", {"size": 5}), "!!!")
    assert await held(page) == {"count": 0, "bytes": 0}

    c = await call(page, "mediaBegin", {"size": 5})
    await call(page, "mediaBegin", {"size": 5})
    assert "too many files in transfer" in await refusal(page, "mediaBegin", {"size": 5})
    assert "incomplete (0 of 5 bytes)" in await refusal(page, "sendMedia", f"{BOB}@c.us", c, {"kind": "document", "mimetype": "x/y"})
    assert await held(page) == {"count": 1, "bytes": 5}  # sending frees it, even when it fails
    await asyncio.sleep(1.0)  # unused for longer than mediaIdleMs
    assert await held(page) == {"count": 0, "bytes": 0}
    assert "no such file transfer" in await refusal(page, "mediaChunk", c, b64(b"late"))


async def test_downloads_are_read_in_chunks_and_freed_on_close(fakewa, launch_browser):
    page = await bridged(launch_browser, fakewa, mediaIdleMs=60000)
    data = bytes(range(256)) * 1200  # 300 KiB: two chunks
    sent = await fakewa.incoming(ALICE, BOB, media={"mimetype": "application/octet-stream", "filename": "d.bin", "data": b64(data)})
    msg_id = sent["id"]["_serialized"]
    await wait_for(page, decrypted(msg_id))

    assert (await refusal(page, "mediaOpen", msg_id, 1000)).startswith("WAD:too_large: the file has 307200 bytes")
    opened = await call(page, "mediaOpen", msg_id, None)
    assert {k: opened[k] for k in ("size", "mimetype", "filename")} == {"size": len(data), "mimetype": "application/octet-stream", "filename": "d.bin"}
    assert await held(page) == {"count": 1, "bytes": len(data)}
    assert "at most 262144 bytes" in await refusal(page, "mediaRead", opened["handle"], 0, CHUNK + 1)
    first = await call(page, "mediaRead", opened["handle"], 0, CHUNK)
    rest = await call(page, "mediaRead", opened["handle"], CHUNK, CHUNK)
    assert base64.b64decode(first) + base64.b64decode(rest) == data
    await call(page, "mediaClose", opened["handle"])
    assert await held(page) == {"count": 0, "bytes": 0}
    assert (await refusal(page, "mediaOpen", f"false_{BOB}@c.us_NOSUCH", None)).startswith("WAD:not_found:")
    await page.evaluate("(o) => window.WADriver.init(o)", {"mediaBufferBytes": 1000})
    assert "holds at most 1000 bytes" in await refusal(page, "mediaOpen", msg_id, None)  # refused before downloading


async def test_no_media_secret_leaves_the_page(fakewa, launch_browser):
    page = await bridged(launch_browser, fakewa)
    sent = await fakewa.incoming(ALICE, BOB, media={"mimetype": "image/png", "data": b64(png_bytes(4, 4))}, caption="c")
    msg_id = sent["id"]["_serialized"]
    await wait_for(page, decrypted(msg_id))
    secrets = await page.evaluate(f"""() => {{
      const m = require('WAWebCollections').Msg.get('{msg_id}');
      return [m.mediaKey, m.directPath, m.filehash, m.encFilehash];
    }}""")
    assert all(secrets)
    everything = json.dumps([await call(page, "messages", f"{BOB}@c.us", 10), await call(page, "chats"),
                             await page.evaluate("() => window.__events")])
    for secret in secrets:
        assert secret not in everything
    assert '"caption": "c"' in everything  # the message itself is there


async def test_reaction_rows_of_either_shape_become_reaction_events(fakewa, launch_browser):
    page = await bridged(launch_browser, fakewa)
    await wait_for(page, "window.__events.some((e) => e[0] === 'sync')")
    parent = f"false_{BOB}@c.us_3EB0PARENT"
    await page.evaluate("""(parent, me) => require('WAWebAddonReactionTableMode').reactionTableMode.bulkUpsert([
      {msgKey: 'true_x_1', parentMsgKey: parent, senderUserJid: me, reactionText: '👍', timestamp: 1700000000123},
      {id: 'false_x_2', reactionParentKey: parent, author: '79990000002@c.us', reactionText: '', reactionTimestamp: 1700000001000},
    ])""", parent, f"{ALICE}@c.us")
    reactions = await page.evaluate("() => window.__events.filter((e) => e[0] === 'reaction').map((e) => e[1])")
    assert reactions == [
        {"msgId": parent, "chatId": f"{BOB}@c.us", "sender": f"{ALICE}@c.us", "emoji": "👍", "timestamp": 1700000000, "fromMe": True},
        {"msgId": parent, "chatId": f"{BOB}@c.us", "sender": f"{BOB}@c.us", "emoji": "", "timestamp": 1700000001, "fromMe": False},
    ]
    # The page's own table still got them (the original bulkUpsert ran).
    assert await page.evaluate(f"() => require('WAWebAddonReactionTableMode').reactionTableMode.byParent('{parent}').length") == 1


async def test_ids_are_read_from_any_shape_of_message_key(fakewa, launch_browser):
    """`_serialized` (before 2.3000.1042), `$1` (after), a real MsgKey's toString(), or built from
    its fields: never "[object Object]"; a key that gives none of these is left out."""
    page = await bridged(launch_browser, fakewa)
    await wait_for(page, "window.__events.some((e) => e[0] === 'sync')")
    bob = f"{BOB}@c.us"
    await page.evaluate("""(bob, me) => {
      const MsgKey = require('WAWebMsgKey'), W = require('WAWebWidFactory');
      const row = (parent) => ({msgKey: 'true_x_1', parentMsgKey: parent, senderUserJid: me, reactionText: 'ok', timestamp: 1700000000000});
      require('WAWebAddonReactionTableMode').reactionTableMode.bulkUpsert([
        row({_serialized: 'false_' + bob + '_3EB0OLD'}),
        row({$1: 'false_' + bob + '_3EB0MINIFIED'}),
        row(new MsgKey({fromMe: false, remote: W.createWid(bob), id: '3EB0INSTANCE'})),
        row({fromMe: false, remote: {server: 'c.us', user: bob.split('@')[0]}, id: '3EB0FIELDS'}),
        row({fromMe: false, remote: W.createWid('120363000000000001@g.us'), id: '3EB0GROUP', participant: W.createWid(bob)}),
        row({fromMe: true, remote: {}, id: {}}),
        row({toString() { return '[object Object]'; }}),
      ]);
    }""", bob, f"{ALICE}@c.us")
    reactions = await page.evaluate("() => window.__events.filter((e) => e[0] === 'reaction').map((e) => e[1].msgId)")
    assert reactions == [f"false_{bob}_3EB0OLD", f"false_{bob}_3EB0MINIFIED", f"false_{bob}_3EB0INSTANCE",
                         f"false_{bob}_3EB0FIELDS", f"false_120363000000000001@g.us_3EB0GROUP_{bob}"]


async def test_modules_are_looked_up_when_called_and_named_when_missing(fakewa, launch_browser):
    """The bridge is injected before login, when a 2026-08 page has not loaded the chunk with
    WAWebQueryExistsJob yet: it is looked up when a call needs it, and a missing one is named."""
    await fakewa.phone_join(BOB)
    page = await open_wa(launch_browser, fakewa.url)
    await wait_for(page, "require('WAWebSocketModel').Socket.state === 'UNPAIRED'")
    await page.evaluate("() => { window.__events = []; window.__wadEmit = (t, p) => { window.__events.push([t, JSON.parse(p)]); }; }")
    await page.evaluate(BRIDGE_SOURCE, force_expr=True)
    await page.evaluate("(o) => window.WADriver.init(o)", {})
    loaded = await page.evaluate("() => { try { require('WAWebQueryExistsJob'); return true; } catch (e) { return false; } }")
    assert loaded is not fakewa.settings.lids
    await link_page(page, fakewa, ALICE)
    assert (await call(page, "checkNumber", BOB))["id"] == f"{BOB}@c.us"
    await page.evaluate("""() => {
      const original = window.require;
      window.require = (name) => { if (name === 'WAWebQueryExistsJob') throw new Error('Requiring unknown module "' + name + '"'); return original(name); };
    }""")
    refused = await refusal(page, "checkNumber", BOB)
    assert refused.startswith("WAD:module: WhatsApp Web has no module WAWebQueryExistsJob"), refused


class TestSlowDecryption:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, decrypt_delay=2.0)

    async def test_a_placeholder_from_before_the_bridge_is_reported_once_decrypted(self, fakewa, launch_browser):
        page = await open_wa(launch_browser, fakewa.url)
        await link_page(page, fakewa, ALICE)
        sent = await fakewa.incoming(ALICE, BOB, "said before the bridge came")
        msg_id = sent["id"]["_serialized"]
        await wait_for(page, f"!!require('WAWebCollections').Msg.get('{msg_id}')")
        await page.evaluate("() => { window.__events = []; window.__wadEmit = (t, p) => { window.__events.push([t, JSON.parse(p)]); }; }")
        await page.evaluate(BRIDGE_SOURCE, force_expr=True)
        await page.evaluate("(o) => window.WADriver.init(o)", {})
        await wait_for(page, "window.__events.some((e) => e[0] === 'sync')")
        [synced] = [m for e in await page.evaluate("() => window.__events.filter((e) => e[0] === 'sync')")
                    for m in e[1]["messages"] if m["id"] == msg_id]
        if fakewa.settings.lids:  # still a placeholder at the sync; reported again once decrypted
            assert (synced["type"], synced["body"]) == ("ciphertext", "")
            await wait_for(page, "window.__events.some((e) => e[0] === 'message' && e[1].body !== '')", timeout=10)
        else:
            assert (synced["type"], synced["body"]) == ("chat", "said before the bridge came")
        reported = await page.evaluate("() => window.__events.filter((e) => e[0] === 'message').map((e) => e[1])")
        assert [(m["id"], m["body"]) for m in reported] == (
            [(msg_id, "said before the bridge came")] if fakewa.settings.lids else [])

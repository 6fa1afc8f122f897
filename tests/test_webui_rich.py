"""The chat app speaks rich messages: real Chromium on the real server, the phone played by the
simulator, on both databases.

A user links WhatsApp in the page; the phone sends a question, a photo, a document, a voice note
and a place, and the page shows each as WhatsApp would (thumbnail, full size, a download, a
player, a map link). The user replies, reacts, edits and deletes through each bubble's menu,
attaches a file with upload progress, and the phone sees all of it; what the phone does comes
back live. Opening the chat sends blue ticks. Screenshots land in test-artifacts/webui/.
"""
from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.files import b64, ogg_opus, png_bytes, sha256_hex, webm_video
from tests.support.server import TEST_PASSWORD, bearer
from tests.support.webui import PHONE, UI, allow_downloads, artifact_prefix, downloaded, link_whatsapp
from tests.support.whatsapp import wa_config, wait_for

pytestmark = pytest.mark.browser

ALICE, BOB = "79990000301", "79990000302"
BOB_CHAT = f"{BOB}@c.us"
BOB_ROW = f".chat-row[data-chat-id='{BOB_CHAT}']"
TALL = {"width": 1280, "height": 1100}  # the whole conversation fits on the screenshot
UPLOAD_LIMIT = 256 * 1024  # whatsapp.media.max_upload_bytes here: a larger file is refused (413)

# Every value the upload's progress bar shows, in order.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  const seen = (node) => { if (node.classList && node.classList.contains('upload-progress')) window.__progress.push(Number(node.dataset.progress)); };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'attributes') seen(record.target);
      for (const node of record.addedNodes || []) if (node.querySelectorAll) node.querySelectorAll('.upload-progress').forEach(seen);
    }
  }).observe(document.querySelector('.composer'), { subtree: true, childList: true, attributes: true, attributeFilter: ['data-progress'] });
}"""


# A file dragged from the desktop onto the conversation: dragenter (the drop zone shows), then drop.
DROP_FILE = """(name, type, b64) => {
  const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type });
  const data = new DataTransfer();
  data.items.add(file);
  const target = document.querySelector('.messages');
  target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
  const shown = document.querySelector('.conversation').dataset.dropping === 'true'
    && getComputedStyle(document.querySelector('.drop-zone')).display !== 'none';
  target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  return shown;
}"""

# A picture pasted into the composer (as a screenshot tool puts one on the clipboard).
PASTE_FILE = """(name, type, b64) => {
  const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type });
  const data = new DataTransfer();
  data.items.add(file);
  const input = document.querySelector('#composer-input');
  input.focus();
  return input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
}"""


def stanza(message_id: str) -> str:
    """The id part of a message id (``false_79..@c.us_3EB0..`` → ``3EB0..``), the same on both sides."""
    return message_id.rsplit("_", 1)[-1]


def bubble(message_id: str) -> str:
    return f'.msg[data-id="{message_id}"]'


async def bubble_id(ui: UI, at_phone: dict) -> str:
    """The page's id of the (server's, not pending) bubble of a message the phone lists."""
    return await ui.until(
        "(s) => [...document.querySelectorAll('.msg')].map((n) => n.dataset.id).find((id) => id.endsWith('_' + s))",
        at_phone["id"]["id"],
        what=f"the bubble of {at_phone.get('body') or at_phone.get('type')!r}",
    )


async def phone_lists(fakewa: Any, phone: str, check: Callable[[dict], bool], what: str) -> dict:
    """The message ``phone`` lists that passes ``check``, once there is one."""
    async def find() -> dict | None:
        return next((m for m in await fakewa.messages(phone) if check(m)), None)

    return await wait_for(find, timeout=30, message=f"{what} at the phone")


async def from_menu(ui: UI, message_id: str, action: str) -> None:
    """Open a bubble's actions menu and pick ``action``."""
    await ui.click(f"{bubble(message_id)} .msg-menu-button")
    await ui.visible(".message-menu")
    await ui.click(f'.message-menu [data-action="{action}"]')


async def focused(ui: UI) -> dict:
    return await ui.page.evaluate(
        "() => { const e = document.activeElement; return { id: e.id, action: e.dataset.action || null,"
        " cls: e.className, msg: e.closest('.msg')?.dataset.id || null }; }"
    )


async def test_photos_documents_voice_replies_reactions_edits_deletes_and_reads(make_server, fakewa, launch_browser, request, tmp_path):
    server = await make_server(**wa_config(fakewa, media={"max_upload_bytes": UPLOAD_LIMIT}))
    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request), TALL)
    await ui.register("alice", TEST_PASSWORD, "Alice Liddell")
    token = await ui.storage("wamulti.token")
    uid = json.loads(await ui.storage("wamulti.user"))["id"]
    await link_whatsapp(ui, fakewa, ALICE, "Alice")

    # -- The phone sends a question, a photo with a caption, a document, a voice note and a place.
    image = png_bytes(48, 32, seed=11)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 24 + b"\n%%EOF\n"
    voice = ogg_opus(tmp_path / "voice.ogg", seconds=2).read_bytes()
    question = await fakewa.incoming(ALICE, BOB, "Lunch at noon?", pushname="Bob Stone")
    photo = await fakewa.incoming(ALICE, BOB, caption="The view from here",
                                  media={"mimetype": "image/png", "filename": "view.png", "data": b64(image)})
    document = await fakewa.incoming(ALICE, BOB, media={"mimetype": "application/pdf", "filename": "menu.pdf", "data": b64(pdf)})
    note = await fakewa.incoming(ALICE, BOB, media={"mimetype": "audio/ogg; codecs=opus", "data": b64(voice), "kind": "voice"})
    clip = await fakewa.incoming(ALICE, BOB, media={"mimetype": "video/webm", "filename": "clip.webm",
                                                    "data": b64(webm_video(tmp_path / "clip.webm").read_bytes())})
    place = await fakewa.incoming(ALICE, BOB, location={"latitude": 59.9398, "longitude": 30.3146, "name": "Hermitage",
                                                        "address": "Palace Square 2"})
    await ui.text_of(f"{BOB_ROW} .preview-text", "📍 Hermitage")
    await ui.text_of(f"{BOB_ROW} .unread", "6")

    # -- Opening the chat marks it read: the phone's messages get blue ticks, the count is 0.
    await ui.click(BOB_ROW)

    async def read_at_phone(count: int) -> bool:
        sent = [m for m in await fakewa.messages(BOB) if m["from"] == BOB_CHAT]
        return len(sent) == count and all(m["ack"] == 3 for m in sent)

    await wait_for(lambda: read_at_phone(6), message="blue ticks on the phone's six messages")

    async def unread_count() -> int:
        chats = (await server.client.get(f"/api/whatsapp/chats/{uid}", headers=bearer(token))).json()["items"]
        return next(c["unreadCount"] for c in chats if c["id"] == BOB_CHAT)

    assert await unread_count() == 0

    # -- A photo shows its inline thumbnail (a JPEG data: URL) and opens full size.
    photo_id = await bubble_id(ui, photo)
    await ui.text_of(f"{bubble(photo_id)} .body", "The view from here")
    thumb = await ui.attr(f"{bubble(photo_id)} .media-thumb", "src")
    assert thumb.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(thumb.split(",", 1)[1])[:3] == b"\xff\xd8\xff"
    await ui.click(f"{bubble(photo_id)} .media-open")
    full = await ui.until(
        "() => { const i = document.querySelector('dialog.viewer[open] img.viewer-image');"
        " return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight, i.src.split(':')[0]] : null; }",
        what="the photo full size",
    )
    assert full == [48, 32, "blob"], full
    await ui.text_of("dialog.viewer[open] .viewer-caption", "The view from here")
    await ui.shot("photo-full-size")
    await ui.press("Escape")
    await ui.hidden("dialog.viewer")
    assert (await focused(ui))["msg"] == photo_id, "the focus goes back to the photo"

    # -- A document is a chip (name, size, type) that downloads the file.
    doc_id = await bubble_id(ui, document)
    assert await ui.text(f"{bubble(doc_id)} .doc-name") == "menu.pdf"
    assert await ui.text(f"{bubble(doc_id)} .doc-size") == "6 KB · PDF"
    downloads = await allow_downloads(ui, tmp_path / "downloads")
    await ui.click(f"{bubble(doc_id)} .doc-chip")
    assert sha256_hex(await downloaded(downloads, "menu.pdf")) == sha256_hex(pdf)

    # -- A voice note gets a player whose source loads (two seconds of Opus).
    note_id = await bubble_id(ui, note)
    duration = await ui.until(
        "(s) => { const a = document.querySelector(s); return a && a.src.startsWith('blob:') && a.readyState >= 1"
        " && Number.isFinite(a.duration) && a.duration > 0 ? a.duration : null; }",
        f"{bubble(note_id)} audio.audio-player",
        what="the voice note's player to load",
    )
    assert 1.5 < duration < 2.5, duration

    # -- A video: its thumbnail, and it plays full size.
    clip_id = await bubble_id(ui, clip)
    assert (await ui.attr(f"{bubble(clip_id)} .media-thumb", "src")).startswith("data:image/jpeg;base64,")
    await ui.click(f"{bubble(clip_id)} .media-open")
    frame = await ui.until(
        "() => { const v = document.querySelector('dialog.viewer[open] video.viewer-video');"
        " return v && v.src.startsWith('blob:') && v.readyState >= 1 ? [v.videoWidth, v.videoHeight] : null; }",
        what="the video to load",
    )
    assert frame == [64, 48], frame
    await ui.click("dialog.viewer[open] .viewer-close")
    await ui.hidden("dialog.viewer")

    # -- A place: its name, address and coordinates, linking to OpenStreetMap (nothing loaded from it).
    place_id = await bubble_id(ui, place)
    await ui.text_of(f"{bubble(place_id)} .location-name", "Hermitage")
    await ui.text_of(f"{bubble(place_id)} .location-address", "Palace Square 2")
    link = f"{bubble(place_id)} .location-link"
    assert await ui.text(link) == "59.93980, 30.31460"
    assert await ui.attr(link, "href") == "https://www.openstreetmap.org/?mlat=59.93980&mlon=30.31460#map=16/59.93980/30.31460"
    assert "noopener" in await ui.attr(link, "rel") and await ui.attr(link, "target") == "_blank"
    loaded = await ui.page.evaluate("() => performance.getEntriesByType('resource').map((e) => new URL(e.name).host)")
    assert set(loaded) <= {f"127.0.0.1:{server.app.port}", ""}, loaded

    # -- The actions menu works from the keyboard: first item focused, arrows, Escape gives the focus back.
    question_id = await bubble_id(ui, question)
    await ui.click(f"{bubble(question_id)} .msg-menu-button")
    await ui.visible(".message-menu")
    assert await ui.texts(".message-menu .menu-item") == ["Reply", "React", "Delete for me"], "theirs: no edit, no delete for everyone"
    assert (await focused(ui))["action"] == "reply"
    await ui.press("ArrowDown")
    assert (await focused(ui))["action"] == "react"
    await ui.press("End")
    assert (await focused(ui))["action"] == "delete-me"
    await ui.press("ArrowDown")
    assert (await focused(ui))["action"] == "reply"
    await ui.press("Escape")
    await ui.hidden(".message-menu")
    now = await focused(ui)
    assert "msg-menu-button" in now["cls"] and now["msg"] == question_id

    # -- Reply: Enter on the menu button, Enter on "Reply"; the quote shows above the composer.
    await ui.press("Enter")
    await ui.visible(".message-menu")
    await ui.press("Enter")
    await ui.text_of(".composer-context .context-title", "Replying to Bob Stone")
    await ui.text_of(".composer-context .context-snippet", "Lunch at noon?")
    assert (await focused(ui))["id"] == "composer-input"
    await ui.page.type("#composer-input", "Yes, see you there")
    await ui.press("Enter")
    await ui.hidden(".composer-context")
    reply = await phone_lists(fakewa, BOB, lambda m: m["body"] == "Yes, see you there", "the reply")
    assert reply["quotedId"] and stanza(reply["quotedId"]) == question["id"]["id"]
    reply_id = await bubble_id(ui, reply)
    await ui.text_of(f"{bubble(reply_id)} .quote-author", "Bob Stone")
    await ui.text_of(f"{bubble(reply_id)} .quote-text", "Lunch at noon?")

    # -- Reactions, both ways: ours through the picker (the phone sees it), the phone's live.
    await from_menu(ui, photo_id, "react")
    await ui.visible(".emoji-picker")
    assert len(await ui.texts(".emoji-picker .menu-item")) == 6
    await ui.click('.emoji-picker [data-action="react-thumbs-up"]')
    await ui.text_of(f"{bubble(photo_id)} .reaction.mine", "👍")
    assert await ui.attr(f"{bubble(photo_id)} .reaction.mine", "aria-pressed") == "true"
    ours = [{"sender": f"{ALICE}@c.us", "emoji": "👍"}]
    await phone_lists(fakewa, BOB, lambda m: m["id"]["id"] == photo["id"]["id"] and m["reactions"] == ours, "our 👍")
    await fakewa.react(BOB, ALICE, reply["id"]["_serialized"], "❤️")
    await ui.text_of(f"{bubble(reply_id)} .reaction", "❤️")
    assert await ui.attr(f"{bubble(reply_id)} .reaction", "aria-pressed") == "false"
    # Clicking our own reaction takes it back, on the phone too.
    await ui.click(f"{bubble(photo_id)} .reaction.mine")
    await ui.hidden(f"{bubble(photo_id)} .reactions")
    await phone_lists(fakewa, BOB, lambda m: m["id"]["id"] == photo["id"]["id"] and m["reactions"] == [], "no reaction")
    # The picker from the keyboard: ❤️ is the second.
    await ui.page.focus(f"{bubble(photo_id)} .msg-menu-button")
    await ui.press("Enter")
    await ui.press("ArrowDown")
    await ui.press("Enter")
    await ui.visible(".emoji-picker")
    await ui.press("ArrowRight")
    await ui.press("Enter")
    await ui.text_of(f"{bubble(photo_id)} .reaction.mine", "❤️")
    await ui.page.evaluate("() => document.activeElement.blur()")
    await ui.page.mouse.move(0, 0)

    # -- A conversation with a photo, a document, a voice note, a place, a reply and reactions.
    await ui.page.evaluate("() => { const s = document.querySelector('.messages'); s.scrollTop = s.scrollHeight; }")
    await ui.shot("conversation")

    # -- A file through the attach button: it uploads with a progress bar, then goes with the caption.
    minutes = b"%PDF-1.4\n" + os.urandom(150_000) + b"\n%%EOF\n"
    (tmp_path / "minutes.pdf").write_bytes(minutes)
    await ui.page.evaluate(WATCH_PROGRESS)
    chooser = await ui.page.querySelector("#composer-file")
    await chooser.uploadFile(str(tmp_path / "minutes.pdf"))
    await ui.visible(".attachments .attachment")
    await ui.text_of(".attachment .attachment-name", "minutes.pdf")
    await ui.text_of(".attachment[data-state=ready] .upload-status", "Ready to send")
    progress = await ui.page.evaluate("() => window.__progress")
    assert progress and progress[0] == 0 and progress[-1] == 100 and progress == sorted(progress), progress
    await ui.page.type("#composer-input", "The minutes")
    await ui.press("Enter")
    await ui.hidden(".attachments")
    sent = await phone_lists(fakewa, BOB, lambda m: (m["media"] or {}).get("sha256") == sha256_hex(minutes), "the uploaded file")
    assert sent["type"] == "document" and sent["caption"] == "The minutes" and sent["media"]["filename"] == "minutes.pdf"
    assert await fakewa.media(sent["media"]["sha256"]) == minutes
    sent_id = await bubble_id(ui, sent)
    await ui.text_of(f"{bubble(sent_id)} .doc-name", "minutes.pdf")
    await ui.text_of(f"{bubble(sent_id)} .body", "The minutes")

    # A file dropped onto the conversation lands in the same tray (and can be taken out again);
    # a picture pasted into the composer goes as a photo.
    assert await ui.page.evaluate(DROP_FILE, "notes.txt", "text/plain", b64(b"plain notes\n")), "the drop zone shows"
    await ui.text_of(".attachment[data-state=ready] .attachment-name", "notes.txt")
    assert await ui.attr(".conversation", "data-dropping") is None
    await ui.click(".attachment-remove")
    await ui.hidden(".attachments")
    pasted = png_bytes(40, 30, seed=5)
    assert not await ui.page.evaluate(PASTE_FILE, "image.png", "image/png", b64(pasted)), "the paste is taken"
    await ui.text_of(".attachment[data-kind=image][data-state=ready] .upload-status", "Ready to send")
    assert await ui.page.evaluate("() => document.querySelector('#composer-input').value") == ""
    await ui.press("Enter")
    shot = await phone_lists(fakewa, BOB, lambda m: (m["media"] or {}).get("sha256") == sha256_hex(pasted), "the pasted picture")
    assert shot["type"] == "image" and not shot["caption"]
    shot_id = await bubble_id(ui, shot)
    await ui.until(
        "(s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }",
        f"{bubble(shot_id)} img.media-thumb",
        what="our photo's picture in its bubble",
    )

    # Refused files are said in plain words, and nothing goes.
    too_big = tmp_path / "big.pdf"
    too_big.write_bytes(b"%PDF-1.4\n" + os.urandom(UPLOAD_LIMIT) + b"\n%%EOF\n")
    not_png = tmp_path / "fake.png"
    not_png.write_bytes(pdf)
    await chooser.uploadFile(str(too_big), str(not_png))
    await ui.until("() => document.querySelectorAll('.attachment[data-state=failed]').length === 2", what="two refused files")
    errors = await ui.texts(".attachment .upload-status")
    assert errors[0].startswith("This file is too large to send.") and str(UPLOAD_LIMIT) in errors[0], errors
    assert errors[1] == "This file cannot be sent: The file is application/pdf, not image/png as declared.", errors
    await ui.page.type("#composer-input", "Never sent")
    await ui.press("Enter")
    await ui.text_of("#composer-error", "A file could not be uploaded")
    await ui.click(".attachment-remove")
    await ui.click(".attachment-remove")
    await ui.hidden(".attachments")
    await ui.fill("#composer-input", "")
    assert not [m for m in await fakewa.messages(BOB) if m.get("caption") == "Never sent" or m["body"] == "Never sent"]

    # -- Edit our reply from its menu: the phone sees it edited; and the phone edits its question.
    await from_menu(ui, reply_id, "edit")
    await ui.text_of(".composer-context .context-title", "Editing your message")
    assert await ui.page.evaluate("() => document.querySelector('#composer-input').value") == "Yes, see you there"
    await ui.fill("#composer-input", "Yes, see you at noon")
    await ui.press("Enter")
    await ui.text_of(f"{bubble(reply_id)} .body", "Yes, see you at noon")
    await ui.text_of(f"{bubble(reply_id)} .meta .edited", "edited")
    await phone_lists(fakewa, BOB, lambda m: m["id"]["id"] == reply["id"]["id"] and m["edited"] and m["body"] == "Yes, see you at noon",
                      "the edit")
    await fakewa.edit(BOB, ALICE, question["id"]["_serialized"], "Lunch at one?")
    await ui.text_of(f"{bubble(question_id)} .body", "Lunch at one?")
    await ui.visible(f"{bubble(question_id)} .meta .edited")

    # -- The phone replies to us; its quote leads back to our message.
    answer = await fakewa.incoming(ALICE, BOB, "Great!", quoted_id=reply["id"]["_serialized"])
    answer_id = await bubble_id(ui, answer)
    await ui.text_of(f"{bubble(answer_id)} .quote-author", "You")
    await ui.click(f"{bubble(answer_id)} .quote")
    await ui.until("(id) => document.activeElement && document.activeElement.dataset.id === id", reply_id, what="the quoted message")
    assert "flash" in await ui.attr(bubble(reply_id), "class")
    # New messages while the chat is open and seen are read at once.
    await wait_for(lambda: read_at_phone(7), message="blue ticks on the phone's reply")
    assert await ui.page.evaluate(f"() => document.querySelector(\"{BOB_ROW} .unread\")") is None

    # -- Delete for everyone (ours), the phone's own delete, and delete for me.
    await ui.page.type("#composer-input", "Oops, wrong chat")
    await ui.press("Enter")
    oops = await phone_lists(fakewa, BOB, lambda m: m["body"] == "Oops, wrong chat", "the mistake")
    oops_id = await bubble_id(ui, oops)
    await ui.until("(s) => Number(document.querySelector(s)?.dataset.ack) >= 2", bubble(oops_id), what="the mistake delivered")
    await ui.click(f"{bubble(oops_id)} .msg-menu-button")
    assert await ui.texts(".message-menu .menu-item") == ["Reply", "React", "Edit", "Delete for everyone", "Delete for me"]
    await ui.click('.message-menu [data-action="delete-everyone"]')
    await ui.text_of("dialog[open] h2", "Delete for everyone?")
    await ui.click("dialog[open] .button.danger")
    await ui.text_of(f"{bubble(oops_id)} .body", "You deleted this message")
    await phone_lists(fakewa, BOB, lambda m: m["id"]["id"] == oops["id"]["id"] and m["revoked"], "the revoke")
    await fakewa.revoke(BOB, ALICE, place["id"]["_serialized"])
    await ui.text_of(f"{bubble(place_id)} .body", "This message was deleted")
    assert await ui.page.evaluate(f"() => document.querySelector('{bubble(place_id)} .location')") is None
    await from_menu(ui, answer_id, "delete-me")
    await ui.text_of("dialog[open] h2", "Delete for me?")
    await ui.click("dialog[open] .button.danger")
    await ui.hidden(bubble(answer_id))
    gone = await server.client.get(f"/api/whatsapp/messages/{uid}/{answer_id}", headers=bearer(token))
    assert gone.status_code == 404
    assert [m for m in await fakewa.messages(BOB) if m["id"]["id"] == answer["id"]["id"] and not m["revoked"]], "still on the phone"
    await ui.shot("edited-and-deleted")

    # -- Signed out and in again (what this browser saw is forgotten): the count stays 0.
    await ui.click(".sign-out")
    await ui.sign_in("alice", TEST_PASSWORD)
    await ui.text_of(f"{BOB_ROW} .preview-text", "You deleted this message")
    assert await ui.page.evaluate("() => document.querySelectorAll('.chat-row .unread').length") == 0
    assert await unread_count() == 0

    # -- A phone-sized screen: a swipe to the right replies; the menu opens inside the window.
    await ui.page.setViewport(PHONE)
    await ui.click(BOB_ROW)
    await ui.visible(f"{bubble(photo_id)} .media-thumb")
    await ui.page.evaluate(f"() => document.querySelector('{bubble(photo_id)}').scrollIntoView({{ block: 'center' }})")
    box = await ui.page.evaluate(f"() => {{ const r = document.querySelector('{bubble(photo_id)}').getBoundingClientRect(); return [r.left, r.top, r.height]; }}")
    touch = await ui.page.target.createCDPSession()
    await touch.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    x, y = box[0] + 30, box[1] + box[2] / 2
    await touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for dx in range(15, 121, 15):
        await touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x + dx, "y": y}]})
    await touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await ui.text_of(".composer-context .context-title", "Replying to Bob Stone")
    await ui.text_of(".composer-context .context-snippet", "The view from here")
    await ui.click(".composer-context .context-cancel")
    await ui.hidden(".composer-context")
    await ui.click(f"{bubble(doc_id)} .msg-menu-button")
    box = await ui.page.evaluate("() => { const r = document.querySelector('.message-menu').getBoundingClientRect(); return [r.left, r.right, innerWidth]; }")
    assert 0 <= box[0] and box[1] <= box[2], box
    await ui.shot("phone")
    await ui.press("Escape")
    await ui.hidden(".message-menu")
    ui.assert_clean()


# Drives the page's own store.js: REST pages that were asked for before frames land after them.
STORE_RULES = """async () => {
  const { ChatStore } = await import('/static/webui/store.js');
  const chatId = '79990000302@c.us';
  const message = (n, extra = {}) => ({
    id: `false_${chatId}_M${n}`, chatId, from: chatId, to: '79990000301@c.us', author: null, body: `text ${n}`, type: 'chat',
    fromMe: false, ack: 0, timestamp: `2026-01-01T10:00:0${n}Z`, caption: null, quotedId: null, quoted: null, media: null,
    location: null, edited: false, revoked: false, reactions: [], ...extra });
  const id = (n) => message(n).id;
  const store = new ChatStore(null);
  store.setOpen(chatId);
  store.setMessages(chatId, [message(4), message(2), message(1)], 3);

  const frame = (apply) => { store.touchLive(chatId); apply(); };
  const before = store.mark();  // a page is asked for; frames come while it travels
  frame(() => store.setReaction({ id: id(1), chatId, from: chatId, emoji: '👍', fromMe: false, timestamp: '' }));
  frame(() => store.setEdited({ id: id(2), chatId, body: 'text 2, edited', caption: null }));
  frame(() => store.setRevoked({ id: id(3), chatId }));  // not kept yet: it comes with the page
  frame(() => store.removeMessage({ id: id(4), chatId }));
  store.setMessages(chatId, [message(4), message(3), message(2), message(1)], 4, { since: before });
  const kept = () => store.messagesOf(chatId);
  const stale = kept().map((m) => [m.id.slice(-2), m.body, m.edited, m.revoked, m.reactions.map((r) => r.emoji)]);

  // A page asked for after the frames is the truth (here: the reaction was taken back, another came).
  const after = store.mark();
  store.setMessages(chatId, [message(4), message(3, { revoked: false }), message(2, { body: 'text 2, edited', edited: true }),
                             message(1, { reactions: [{ from: 'x@c.us', emoji: '❤️', fromMe: false, timestamp: '' }] })], 4, { since: after });
  const fresh = kept().map((m) => [m.id.slice(-2), m.body, m.edited, m.revoked, m.reactions.map((r) => r.emoji)]);
  return { stale, fresh };
}"""


async def test_a_rest_page_never_undoes_a_fresher_frame(server, launch_browser, request):
    """The page's store, in Chromium: reactions, edits, revokes and deletes that frames brought
    while a REST page travelled survive that page; a page asked for later is taken as it is,
    except that a revoke is final."""
    browser = await launch_browser()
    ui = await UI.open(browser, server.url, artifact_prefix(request))
    result = await ui.page.evaluate(STORE_RULES)
    assert result["stale"] == [
        ["M1", "text 1", False, False, ["👍"]],
        ["M2", "text 2, edited", True, False, []],
        ["M3", "", False, True, []],
    ], result["stale"]
    assert result["fresh"] == [
        ["M1", "text 1", False, False, ["❤️"]],
        ["M2", "text 2, edited", True, False, []],
        ["M3", "", False, True, []],
    ], result["fresh"]
    ui.assert_clean()

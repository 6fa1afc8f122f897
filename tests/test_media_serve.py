"""Serving the media of a message: the kept copy streamed with ranges and validators, active
types always as sandboxed attachments, and the answers when nothing is kept.

The copies are stored the way the media service stores what WhatsApp delivers (the download
itself needs a linked session: the end-to-end tests with the simulator cover it)."""
from __future__ import annotations

import os
from urllib.parse import quote

from tests.support.media import save_media_message, store_downloaded_copy
from tests.support.files import png_bytes, sha256_of
from tests.support.server import assert_error, bearer

SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}
MESSAGE = "false_79990000009@c.us_3EB0AA11"


def media_url(user_id: int, message_id: str) -> str:
    return f"/api/whatsapp/messages/{user_id}/{quote(message_id, safe='')}/media"


async def test_a_kept_copy_is_served_with_ranges_and_validators(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    data = os.urandom(300_000)  # several chunks
    await store_downloaded_copy(server, uid, MESSAGE, data, mimetype="video/mp4", filename="holiday clip.mp4")

    whole = await server.client.get(media_url(uid, MESSAGE), headers=bearer(token))
    assert whole.status_code == 200 and whole.content == data
    headers = whole.headers
    assert headers["Content-Type"] == "video/mp4" and headers["Content-Length"] == str(len(data))
    assert headers["ETag"] == f'"{sha256_of(data)}"' and headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"].startswith("private, max-age=")
    assert headers["Content-Disposition"] == (
        "inline; filename=\"holiday clip.mp4\"; filename*=UTF-8''holiday%20clip.mp4")
    assert "Content-Security-Policy" not in headers

    part = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}" and part.headers["Content-Length"] == "1000"
    tail = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    rest = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "Range": f"bytes={len(data) - 5}-"})
    assert rest.status_code == 206 and rest.content == data[-5:]
    past = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "Range": f"bytes={len(data)}-"})
    assert_error(past, 416, "range_not_satisfiable")
    assert past.headers["Content-Range"] == f"bytes */{len(data)}"
    several = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data  # several ranges: the whole file
    stale = await server.client.get(media_url(uid, MESSAGE),
                                    headers={**bearer(token), "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data

    cached = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "If-None-Match": headers["ETag"]})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == headers["ETag"]
    changed = await server.client.get(media_url(uid, MESSAGE), headers={**bearer(token), "If-None-Match": '"old"'})
    assert changed.status_code == 200


async def test_active_types_are_sandboxed_attachments(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    page = b"<!DOCTYPE html><html><body><script>fetch('/api/user/profile')</script></body></html>"
    files = {
        "false_1@c.us_HTML": (page, "text/html", "invoice.html"),
        "false_1@c.us_SVG": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml", None),
        "false_1@c.us_JS": (b"alert(1)", "text/javascript", "x.js"),
        "false_1@c.us_XML": (b"<?xml version='1.0'?><a/>", "application/xml", "feed.xml"),
        "false_1@c.us_TXT": (b"hello", "text/plain", "note.txt"),
        "false_1@c.us_BIN": (b"\x00\x01", "application/octet-stream", "bl\"ob\r\n.bin"),
    }
    for message_id, (data, mimetype, filename) in files.items():
        await store_downloaded_copy(server, uid, message_id, data, mimetype=mimetype, filename=filename)
    for message_id, (data, mimetype, filename) in files.items():
        response = await server.client.get(media_url(uid, message_id), headers=bearer(token))
        assert response.status_code == 200 and response.content == data
        assert response.headers["Content-Type"] == mimetype
        assert response.headers["Content-Disposition"].startswith("attachment; filename="), message_id
        assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    svg = await server.client.get(media_url(uid, "false_1@c.us_SVG"), headers=bearer(token))
    assert svg.headers["Content-Disposition"].startswith('attachment; filename="file.svg"')
    odd = await server.client.get(media_url(uid, "false_1@c.us_BIN"), headers=bearer(token))
    assert '"' not in odd.headers["Content-Disposition"].split('filename="')[1].split('";')[0]
    assert "\r" not in odd.headers["Content-Disposition"] and "\n" not in odd.headers["Content-Disposition"]

    # A picture may be shown in the page; a non-ASCII name has an ASCII fallback.
    await store_downloaded_copy(server, uid, "false_1@c.us_PNG", png_bytes(), mimetype="image/png", filename="Фото 1.png")
    png = await server.client.get(media_url(uid, "false_1@c.us_PNG"), headers=bearer(token))
    assert png.headers["Content-Disposition"] == (
        "inline; filename=\"1.png\"; filename*=UTF-8''%D0%A4%D0%BE%D1%82%D0%BE%201.png")
    assert "Content-Security-Policy" not in png.headers


async def test_no_copy_kept_answers(make_server):
    server = await make_server(whatsapp=SESSION)
    admin_token, _ = await server.admin()
    token, user = await server.register("owner")
    other_token, _ = await server.register("other")
    uid = user["id"]
    from plugins.whatsapp import store

    chat = "79990000009@c.us"
    await store.save_message(server.app.db, uid, {"id": "false_x_TEXT", "chatId": chat, "from": chat, "to": "me",
                                                  "body": "hi", "type": "chat", "fromMe": False, "ack": 0, "timestamp": 1})
    await save_media_message(server, uid, "false_x_REMOTE")

    assert_error(await server.client.get(media_url(uid, "false_x_NONE"), headers=bearer(token)), 404, "not_found")
    text = assert_error(await server.client.get(media_url(uid, "false_x_TEXT"), headers=bearer(token)), 404, "not_found")
    assert "no media" in text["message"]
    # Not kept here and the session is not connected: nothing to download it with.
    remote = assert_error(await server.client.get(media_url(uid, "false_x_REMOTE"), headers=bearer(token)), 409, "conflict")
    assert remote["state"] == "STOPPED"
    assert_error(await server.client.get(media_url(uid, "false_x_REMOTE"), headers=bearer(other_token)), 403, "forbidden")
    admin = await server.client.get(media_url(uid, "false_x_REMOTE"), headers=bearer(admin_token))
    assert_error(admin, 409, "conflict")
    await store_downloaded_copy(server, uid, "false_x_KEPT", b"kept bytes", mimetype="text/plain")
    assert (await server.client.get(media_url(uid, "false_x_KEPT"), headers=bearer(admin_token))).content == b"kept bytes"
    shown = await store.get_message(server.app.db, uid, "false_x_KEPT")
    assert shown["media"]["status"] == "ready"
    # The file went missing from disk (an operator's cleanup): not served, and asked for again.
    kept = await server.app.state["whatsapp"].media.files.for_message(uid, "false_x_KEPT")
    kept.path.unlink()
    assert_error(await server.client.get(media_url(uid, "false_x_KEPT"), headers=bearer(token)), 409, "conflict")

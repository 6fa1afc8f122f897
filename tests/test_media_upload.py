"""Uploading files to send: raw and multipart bodies streamed to private storage, the upload
limit, types told from the bytes, file names made safe, and one user's files kept from another."""
from __future__ import annotations

import tracemalloc
import uuid

import pytest

from server.errors import ApiError
from tests.support.media import media_service, mode
from tests.support.files import file_chunks, multipart_body, multipart_chunks, pdf_bytes, png_bytes, random_file, sha256_of
from tests.support.server import assert_error, bearer

MB = 1024 * 1024
SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}


def media_dir(server, user_id: int):
    return server.app.data_dir / "media" / str(user_id)


async def upload(server, token: str, user_id: int, data: bytes, content_type: str | None = None, **kw):
    headers = {**bearer(token), **({"Content-Type": content_type} if content_type else {}), **kw.pop("headers", {})}
    return await server.client.post(f"/api/whatsapp/media/{user_id}", content=data, headers=headers, **kw)


async def test_a_large_file_streams_to_private_storage_raw_and_multipart(make_server, tmp_path):
    """20 MB, sent raw (with a Content-Length) and as multipart/form-data (chunked), from disk.

    Memory: the server runs in this process, so tracemalloc sees every Python allocation of the
    server *and* of the client while the upload runs. Its peak over the baseline stays far below
    the file's size: neither side ever held the body whole (a handler that buffered it, or a
    b"".join of its chunks, would put at least 20 MB there). tracemalloc does not see memory that
    C libraries allocate on their own, but request bodies are Python bytes objects, which it does.
    """
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    size = 20 * MB
    path = tmp_path / "big.bin"
    digest = random_file(path, size)

    async def send_raw():
        return await server.client.post(
            f"/api/whatsapp/media/{uid}", params={"filename": "big.bin"}, content=file_chunks(path),
            headers={**bearer(token), "Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )

    async def send_multipart():
        boundary = uuid.uuid4().hex
        return await server.client.post(
            f"/api/whatsapp/media/{uid}", content=multipart_chunks(path, "other name.bin", "application/octet-stream", boundary),
            headers={**bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    for send, filename in ((send_raw, "big.bin"), (send_multipart, "other name.bin")):
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            response = await send()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["sha256"] == digest and body["size"] == size and body["filename"] == filename
        assert body["mimetype"] == "application/octet-stream"  # random bytes: no signature
        assert response.headers["Location"] == f"/api/whatsapp/media/{uid}/{body['mediaId']}"
        assert peak - baseline < size / 4, f"the upload took {peak - baseline} bytes of memory"

    stored = media_dir(server, uid) / digest
    assert stored.read_bytes()[:4096] == path.read_bytes()[:4096] and stored.stat().st_size == size
    assert mode(stored) == 0o600 and mode(stored.parent) == 0o700 and mode(stored.parent.parent) == 0o700
    assert [p.name for p in stored.parent.iterdir()] == [digest]  # one file for the same bytes
    assert await server.count("wa_media") == 2
    assert list((server.app.data_dir / "media" / "tmp").iterdir()) == []

    # Read back through Location: the same bytes.
    back = await server.client.get(response.headers["Location"], headers=bearer(token))
    assert back.status_code == 200 and sha256_of(back.content) == digest
    assert back.headers["Content-Type"] == "application/octet-stream"
    assert back.headers["Content-Disposition"].startswith("attachment;")


async def test_past_the_upload_limit_is_413_and_nothing_is_kept(make_server):
    server = await make_server(whatsapp={**SESSION, "media": {"max_upload_bytes": 64 * 1024}})
    token, user = await server.register()
    uid = user["id"]
    data = b"x" * (100 * 1024)

    async def chunked():
        for start in range(0, len(data), 8192):
            yield data[start:start + 8192]

    raw = await upload(server, token, uid, data, "application/octet-stream")
    assert "65536 bytes" in assert_error(raw, 413, "payload_too_large")["message"]
    streamed = await server.client.post(f"/api/whatsapp/media/{uid}", content=chunked(), headers=bearer(token))
    assert_error(streamed, 413, "payload_too_large")
    body, ctype = multipart_body([("file", "x.bin", "application/octet-stream", data)])
    assert_error(await upload(server, token, uid, body, ctype), 413, "payload_too_large")
    # Just under the limit is fine, and the connection still serves requests after the refusals.
    ok = await upload(server, token, uid, data[: 60 * 1024], "application/octet-stream")
    assert ok.status_code == 201, ok.text
    assert await server.count("wa_media") == 1
    assert [p.name for p in media_dir(server, uid).iterdir()] == [ok.json()["sha256"]]
    assert list((server.app.data_dir / "media" / "tmp").iterdir()) == []


async def test_the_bytes_decide_the_type(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    png, pdf = png_bytes(), pdf_bytes()

    mismatch = assert_error(await upload(server, token, uid, png, "image/jpeg"), 422, "validation_failed")
    assert "image/png" in mismatch["message"] and "image/jpeg" in mismatch["message"]
    mismatch = assert_error(await upload(server, token, uid, pdf, "image/png"), 422, "validation_failed")
    assert "application/pdf" in mismatch["message"] and "image/png" in mismatch["message"]
    assert_error(await upload(server, token, uid, b"\x00\x01\x02binary", "text/plain"), 422, "validation_failed")
    assert_error(await upload(server, token, uid, b"", "image/png"), 422, "validation_failed")
    assert await server.count("wa_media") == 0

    cases = [
        (png, "application/octet-stream", "image/png"),
        (png, None, "image/png"),
        (png, "image/PNG; charset=binary", "image/png"),
        (pdf, "application/octet-stream", "application/pdf"),
        (pdf, "application/pdf", "application/pdf"),
        (b"plain words\n", "text/plain", "text/plain"),
        (b"name,count\nmugs,2\n", "text/csv", "text/csv"),
        (b"plain words, no type\n", None, "text/plain"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "application/octet-stream", "text/html"),
    ]
    for data, declared, expected in cases:
        response = await upload(server, token, uid, data, declared)
        assert response.status_code == 201, (declared, response.text)
        assert response.json()["mimetype"] == expected, (declared, response.json())
        assert response.json()["sha256"] == sha256_of(data)


async def test_file_names_are_made_safe(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    png = png_bytes()
    names = [
        ({"params": {"filename": "../../etc/pass\x07wd.png"}}, "passwd.png"),
        ({"params": {"filename": "C:\\Users\\me\\photo.png"}}, "photo.png"),
        ({"params": {"filename": "evil\u202egnp.exe"}}, "evilgnp.exe"),  # no bidi override
        ({"params": {"filename": "a" * 300 + ".png"}}, "a" * 196 + ".png"),
        ({"headers": {"Content-Disposition": "attachment; filename*=UTF-8''%E2%82%AC%20rates.png"}}, "€ rates.png"),
        ({"headers": {"Content-Disposition": 'attachment; filename="../x.png"'}}, "x.png"),
        ({"params": {"filename": ".."}}, None),
    ]
    for extra, expected in names:
        response = await upload(server, token, uid, png, "image/png", **extra)
        assert response.status_code == 201, response.text
        assert response.json()["filename"] == expected, extra
    body, ctype = multipart_body([("file", "dir/ünïcode.png", "image/png", png)])
    assert (await upload(server, token, uid, body, ctype)).json()["filename"] == "ünïcode.png"
    body, ctype = multipart_body([("file", "写真\U000bccef.png", "image/png", png)])  # beyond latin-1, raw UTF-8
    assert (await upload(server, token, uid, body, ctype)).json()["filename"] == "写真.png"


async def test_multipart_bodies_carry_one_part_named_file(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    png = png_bytes()
    body, ctype = multipart_body([("document", "x.png", "image/png", png)])
    assert "document" in assert_error(await upload(server, token, uid, body, ctype), 422, "validation_failed")["fields"]
    body, ctype = multipart_body([("\u0100\U000bccef", None, None, b"null"), ("file", "x.png", "image/png", png)])
    assert_error(await upload(server, token, uid, body, ctype), 422, "validation_failed")  # found by Schemathesis
    body, ctype = multipart_body([("file", "x.png", "image/png", png), ("file", "y.png", "image/png", png)])
    assert_error(await upload(server, token, uid, body, ctype), 422, "validation_failed")
    body, ctype = multipart_body([])
    assert "file" in assert_error(await upload(server, token, uid, body, ctype), 422, "validation_failed")["fields"]
    malformed = await upload(server, token, uid, b"--nope\r\ngarbage", "multipart/form-data; boundary=b0undary")
    assert_error(malformed, 400, "bad_request")
    assert_error(await upload(server, token, uid, png, "multipart/form-data"), 400, "bad_request")
    body, ctype = multipart_body([("file", "x.png", "image/jpeg", png)])
    assert "image/png" in assert_error(await upload(server, token, uid, body, ctype), 422, "validation_failed")["message"]
    assert_error(await upload(server, token, uid, png, "image/png", params={"other": "1"}), 422, "validation_failed")
    assert await server.count("wa_media") == 0
    assert list((server.app.data_dir / "media" / "tmp").iterdir()) == []


async def test_one_users_files_are_not_anothers(make_server):
    server = await make_server(whatsapp=SESSION)
    admin_token, _ = await server.admin()
    alice_token, alice = await server.register("alice")
    bob_token, bob = await server.register("bob")
    png = png_bytes()
    bobs = (await upload(server, bob_token, bob["id"], png, "image/png")).json()

    # Alice cannot upload as Bob, nor read or delete his file; nothing of Bob's is in the answers.
    assert_error(await upload(server, alice_token, bob["id"], png, "image/png"), 403, "forbidden")
    refused = await server.client.get(f"/api/whatsapp/media/{bob['id']}/{bobs['mediaId']}", headers=bearer(alice_token))
    assert_error(refused, 403, "forbidden")
    hidden = await server.client.get(f"/api/whatsapp/media/{alice['id']}/{bobs['mediaId']}", headers=bearer(alice_token))
    assert_error(hidden, 404, "not_found")
    gone = await server.client.delete(f"/api/whatsapp/media/{alice['id']}/{bobs['mediaId']}", headers=bearer(alice_token))
    assert_error(gone, 404, "not_found")
    anonymous = await server.client.post(f"/api/whatsapp/media/{alice['id']}", content=png, headers={"Content-Type": "image/png"})
    assert_error(anonymous, 401, "unauthorized")

    # Sending names a mediaId: another user's is unknown (404), as is a made-up one.
    media = media_service(server)
    for media_id in (bobs["mediaId"], "x" * 32):
        with pytest.raises(ApiError) as refusal:
            await media.for_send(alice["id"], media_id, None)
        assert refusal.value.status_code == 404
    own = await media.for_send(bob["id"], bobs["mediaId"], None)
    assert (own.kind, own.mimetype, own.sha256, own.size) == ("image", "image/png", sha256_of(png), len(png))

    # An admin may upload for anyone; a user that does not exist is a 404.
    assert (await upload(server, admin_token, alice["id"], png, "image/png")).status_code == 201
    assert_error(await upload(server, admin_token, 10**9, png, "image/png"), 404, "not_found")
    assert await server.count("wa_media") == 2


async def test_the_kind_a_file_is_sent_as_must_fit_it(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    media = media_service(server)
    png = (await upload(server, token, uid, png_bytes(), "image/png")).json()
    pdf = (await upload(server, token, uid, pdf_bytes(), "application/pdf", params={"filename": "report.pdf"})).json()
    text = (await upload(server, token, uid, b"hello\n", "text/plain")).json()

    assert (await media.for_send(uid, png["mediaId"], None)).kind == "image"
    assert (await media.for_send(uid, png["mediaId"], "sticker")).kind == "sticker"
    as_document = await media.for_send(uid, png["mediaId"], "document")
    assert (as_document.kind, as_document.mimetype) == ("document", "image/png")
    pdf_out = await media.for_send(uid, pdf["mediaId"], None)
    assert (pdf_out.kind, pdf_out.filename, pdf_out.mimetype) == ("document", "report.pdf", "application/pdf")
    assert (await media.for_send(uid, text["mediaId"], None)).filename == "file.txt"  # documents always carry a name
    for media_id, kind in ((pdf["mediaId"], "image"), (pdf["mediaId"], "video"), (png["mediaId"], "audio"),
                           (text["mediaId"], "sticker"), (png["mediaId"], "gif")):
        with pytest.raises(ApiError) as refusal:
            await media.for_send(uid, media_id, kind)
        assert refusal.value.status_code == 422, (media_id, kind)
    with pytest.raises(ApiError) as refusal:
        await media.for_send(uid, pdf["mediaId"], "image")
    assert "application/pdf" in refusal.value.message

"""What storage keeps, and for how long: the per-user quota (copies of messages' media make room,
least recently used first; uploads past it are refused), the retention sweeper, and every file
of a user gone with the user or their session."""
from __future__ import annotations

import os
from urllib.parse import quote

from plugins.whatsapp import store
from tests.support.media import media_service, store_downloaded_copy
from tests.support.files import png_bytes
from tests.support.server import assert_error, bearer
from tests.support.whatsapp import wait_for

SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}
KB = 1024


async def upload(server, token, user_id, data: bytes):
    return await server.client.post(f"/api/whatsapp/media/{user_id}", content=data,
                                    headers={**bearer(token), "Content-Type": "application/octet-stream"})


def files_of(server, user_id: int) -> set[str]:
    folder = server.app.data_dir / "media" / str(user_id)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


async def status_of(server, user_id: int, message_id: str) -> str:
    return (await store.get_message(server.app.db, user_id, message_id))["media"]["status"]


async def test_copies_make_room_least_recently_used_first_and_uploads_past_the_quota_are_refused(make_server):
    server = await make_server(whatsapp={**SESSION, "media": {"quota_bytes": 10 * KB}})
    token, user = await server.register()
    uid = user["id"]
    old = await store_downloaded_copy(server, uid, "false_1@c.us_OLD", os.urandom(3 * KB), mimetype="application/zip")
    used = await store_downloaded_copy(server, uid, "false_1@c.us_USED", os.urandom(3 * KB), mimetype="application/zip")
    newer = await store_downloaded_copy(server, uid, "false_1@c.us_NEW", os.urandom(3 * KB), mimetype="application/zip")
    for media, minutes in ((old, 3), (used, 2), (newer, 1)):  # made a few minutes apart, the oldest first
        await server.app.db.execute("UPDATE wa_media SET used_at = used_at - ? WHERE media_id = ?",
                                    (minutes * 60_000, media.media_id))
    # Reading the oldest copy makes it the most recently used.
    read = await server.client.get(f"/api/whatsapp/messages/{uid}/{quote(old.message_id)}/media", headers=bearer(token))
    assert read.status_code == 200

    # 9 KB kept + 4 KB: the least recently used copy goes, the one just read stays.
    four = os.urandom(4 * KB)
    first = await upload(server, token, uid, four)
    assert first.status_code == 201, first.text
    assert files_of(server, uid) == {old.sha256, newer.sha256, first.json()["sha256"]}
    assert await status_of(server, uid, used.message_id) == "remote"
    assert await status_of(server, uid, old.message_id) == "ready"

    # 10 KB kept + 3 KB: the next copy goes.
    second = await upload(server, token, uid, os.urandom(3 * KB))
    assert second.status_code == 201, second.text
    assert files_of(server, uid) == {old.sha256, first.json()["sha256"], second.json()["sha256"]}
    assert await status_of(server, uid, newer.message_id) == "remote"

    # 4 KB more cannot fit even without the last copy (3 KB): refused, and nothing is dropped.
    refused = assert_error(await upload(server, token, uid, os.urandom(4 * KB)), 413, "payload_too_large")
    assert "quota is 10240 bytes" in refused["message"] and "10240 are in use" in refused["message"]
    assert files_of(server, uid) == {old.sha256, first.json()["sha256"], second.json()["sha256"]}
    assert await status_of(server, uid, old.message_id) == "ready"
    # The same bytes as a kept file take no more room.
    again = await upload(server, token, uid, four)
    assert again.status_code == 201 and again.json()["sha256"] == first.json()["sha256"]
    # 3 KB fit once the last copy goes: uploads are never dropped to make room.
    last = await upload(server, token, uid, os.urandom(3 * KB))
    assert last.status_code == 201, last.text
    assert files_of(server, uid) == {first.json()["sha256"], second.json()["sha256"], last.json()["sha256"]}
    assert await media_service(server).files.usage(uid) == 10 * KB
    assert_error(await upload(server, token, uid, b"1"), 413, "payload_too_large")


async def test_the_retention_sweeper_drops_what_was_not_used(make_server):
    server = await make_server(whatsapp={**SESSION, "media": {"retention_days": 1 / 86400, "sweep_interval": 0.1}})
    token, user = await server.register()
    uid = user["id"]
    kept = await store_downloaded_copy(server, uid, "false_1@c.us_SWEPT", png_bytes(), mimetype="image/png")
    uploaded = await upload(server, token, uid, os.urandom(2 * KB))
    assert uploaded.status_code == 201

    async def swept():
        return await server.count("wa_media") == 0 and not files_of(server, uid)

    await wait_for(swept, message="the retention sweeper")
    assert await status_of(server, uid, kept.message_id) == "remote"
    gone = await server.client.get(uploaded.headers["Location"], headers=bearer(token))
    assert_error(gone, 404, "not_found")


async def test_a_user_deleted_or_their_session_cleared_loses_every_file(make_server):
    server = await make_server(whatsapp=SESSION)
    admin_token, _ = await server.admin()
    alice_token, alice = await server.register("alice")
    bob_token, bob = await server.register("bob")
    for token, user in ((alice_token, alice), (bob_token, bob)):
        assert (await upload(server, token, user["id"], os.urandom(2 * KB))).status_code == 201
        await store_downloaded_copy(server, user["id"], f"false_1@c.us_{user['id']}", png_bytes(), mimetype="image/png")
    assert len(files_of(server, alice["id"])) == 2 and len(files_of(server, bob["id"])) == 2

    cleared = await server.client.post(f"/api/whatsapp/clear-session/{alice['id']}", headers=bearer(alice_token))
    assert cleared.status_code == 200, cleared.text
    assert not (server.app.data_dir / "media" / str(alice["id"])).exists()
    assert await server.app.db.fetch_value("SELECT COUNT(*) FROM wa_media WHERE user_id = ?", (alice["id"],)) == 0
    # The number's messages went with it (clearing forgets what belonged to the linked number).
    assert await store.get_message(server.app.db, alice["id"], f"false_1@c.us_{alice['id']}") is None
    assert await status_of(server, bob["id"], f"false_1@c.us_{bob['id']}") == "ready"

    deleted = await server.client.delete(f"/api/admin/users/{bob['id']}", headers=bearer(admin_token))
    assert deleted.status_code == 204, deleted.text
    assert not (server.app.data_dir / "media" / str(bob["id"])).exists()
    assert await server.count("wa_media") == 0
    assert list((server.app.data_dir / "media").iterdir()) == [server.app.data_dir / "media" / "tmp"]


async def test_an_upload_can_be_deleted_by_its_owner(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    data = os.urandom(KB)
    first = (await upload(server, token, uid, data)).json()
    second = (await upload(server, token, uid, data)).json()  # the same bytes: one file, two uploads
    assert first["mediaId"] != second["mediaId"] and files_of(server, uid) == {first["sha256"]}

    url = f"/api/whatsapp/media/{uid}/{first['mediaId']}"
    assert (await server.client.delete(url, headers=bearer(token))).status_code == 204
    assert files_of(server, uid) == {first["sha256"]}  # still used by the second upload
    assert_error(await server.client.get(url, headers=bearer(token)), 404, "not_found")
    assert_error(await server.client.delete(url, headers=bearer(token)), 404, "not_found")
    last = await server.client.delete(f"/api/whatsapp/media/{uid}/{second['mediaId']}", headers=bearer(token))
    assert last.status_code == 204
    assert files_of(server, uid) == set() and await server.count("wa_media") == 0


async def test_a_messages_copy_goes_with_the_message(make_server):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    shared = png_bytes()
    kept = await store_downloaded_copy(server, uid, "false_1@c.us_GONE", shared, mimetype="image/png")
    uploaded = await upload(server, token, uid, shared)  # the same bytes, uploaded too
    other = await store_downloaded_copy(server, uid, "false_1@c.us_STAYS", os.urandom(KB), mimetype="application/zip")

    await media_service(server).forget_message(uid, kept.message_id)
    assert await media_service(server).files.for_message(uid, kept.message_id) is None
    assert await status_of(server, uid, kept.message_id) == "remote"
    assert files_of(server, uid) == {uploaded.json()["sha256"], other.sha256}  # the upload still uses the bytes
    await media_service(server).forget_message(uid, "false_1@c.us_NEVER_KEPT")  # nothing kept: nothing to do
    assert await server.count("wa_media") == 2

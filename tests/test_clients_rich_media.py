"""Files through a session, in real Chromium against the simulator: sending media (a 20 MB
document, a small picture), downloading what phones send (a picture, a document, a voice note),
expired files, the max_bytes bound and the bounds of the page's buffers. Only SessionManager.
Against both generations of the page (2026-08 downloads need downloadQpl, and files arrive as
ciphertext placeholders first)."""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from clients import MediaError, MediaExpired, MediaTooLarge, MessageNotFound, SessionError
from tests.fakewa import SimSettings
from tests.support.clients import ALICE, BOB, CAROL, Harness, phone_message
from tests.support.files import b64, is_jpeg_b64, ogg_opus, png_bytes, sha256_hex, webm_video

pytestmark = [pytest.mark.browser, pytest.mark.all_generations]

CHUNK_LIMIT = 1024 * 1024  # no DevTools frame may come near a whole file: chunks are 256 KiB


async def incoming_media(harness: Harness, key: str, sender: str, media: dict, caption: str | None = None) -> dict:
    """``sender``'s phone sends ALICE a file; returns the session's message event for it."""
    mark = harness.events.mark()
    sent = await harness.control.incoming(ALICE, sender, media=media, caption=caption)
    return await harness.events.message(key, lambda m: m["id"] == sent["id"]["_serialized"], since=mark)


async def test_a_20_mb_document_and_a_small_picture_reach_the_phone_byte_for_byte(harness: Harness, tmp_path: Path):
    manager = harness.manager
    await harness.link("1", ALICE, "Alice")
    big = tmp_path / "archive.zip"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    picture = tmp_path / "dot.png"
    picture.write_bytes(png_bytes(18, 18, seed=1))
    assert 900 < picture.stat().st_size < 1500  # "a 1 KB image"

    started = time.perf_counter()
    sent = await manager.send_media("1", BOB, big, mimetype="application/zip", kind="document",
                                    filename="archive.zip", caption="the archive")
    send_seconds = time.perf_counter() - started
    assert sent["type"] == "document" and sent["fromMe"] is True and sent["body"] == ""
    assert sent["caption"] == "the archive" and sent["chatId"] == harness.wid(BOB)
    assert sent["media"]["mimetype"] == "application/zip" and sent["media"]["filename"] == "archive.zip"
    assert sent["media"]["size"] == big.stat().st_size and sent["media"]["thumbnail"] is None
    arrived = await phone_message(harness.control, BOB, lambda m: m["id"]["id"] == sent["id"].split("_")[-1],
                                  "the document")
    assert arrived["media"]["sha256"] == sha256_hex(big) and arrived["type"] == "document"
    assert (arrived["media"]["filename"], arrived["caption"], arrived["id"]["fromMe"]) == ("archive.zip", "the archive", False)
    assert sha256_hex(await harness.control.media(arrived["media"]["sha256"])) == sha256_hex(big)

    image = await manager.send_media("1", BOB, picture, mimetype="image/png", kind="image")
    assert image["type"] == "image" and image["caption"] is None
    assert (image["media"]["width"], image["media"]["height"], image["media"]["size"]) == (18, 18, picture.stat().st_size)
    assert is_jpeg_b64(image["media"]["thumbnail"])  # made by the page, as the site makes it
    got = await phone_message(harness.control, BOB, lambda m: m["type"] == "image", "the picture")
    assert got["media"]["sha256"] == sha256_hex(picture) and got["media"]["mimetype"] == "image/png"

    # And back: our own document downloads to the same bytes.
    dest = tmp_path / "back.zip"
    started = time.perf_counter()
    info = await manager.download_media("1", sent["id"], dest, max_bytes=50 * 1024 * 1024)
    download_seconds = time.perf_counter() - started
    assert info == {"mimetype": "application/zip", "filename": "archive.zip", "size": big.stat().st_size}
    assert sha256_hex(dest) == sha256_hex(big)

    peaks = manager.frame_peaks("1")
    print(f"\nMEASURE 20 MB send_media {send_seconds:.2f}s, download_media {download_seconds:.2f}s, "
          f"largest DevTools frame sent {peaks['largestSent']} B, received {peaks['largestReceived']} B")
    assert 0 < peaks["largestSent"] < CHUNK_LIMIT and 0 < peaks["largestReceived"] < CHUNK_LIMIT, peaks


async def test_a_voice_note_and_a_video_go_out_as_whatsapp_makes_them(harness: Harness, tmp_path: Path):
    manager = harness.manager
    await harness.link("1", ALICE)
    voice = ogg_opus(tmp_path / "note.ogg", seconds=2)
    note = await manager.send_media("1", BOB, voice, mimetype="audio/ogg; codecs=opus", kind="voice")
    assert note["type"] == "ptt" and note["media"]["duration"] == 2 and note["media"]["thumbnail"] is None
    video = webm_video(tmp_path / "clip.webm")
    clip = await manager.send_media("1", BOB, video, mimetype="video/webm", kind="video", caption="watch")
    assert clip["type"] == "video" and clip["caption"] == "watch"
    assert (clip["media"]["width"], clip["media"]["height"], clip["media"]["duration"]) == (64, 48, 1)
    assert is_jpeg_b64(clip["media"]["thumbnail"])  # a frame, drawn by the page
    for sent, path in ((note, voice), (clip, video)):
        got = await phone_message(harness.control, BOB, lambda m, s=sent: m["id"]["id"] == s["id"].split("_")[-1])
        assert got["type"] == sent["type"] and got["media"]["sha256"] == sha256_hex(path)


async def test_a_picture_a_document_and_a_voice_note_from_a_phone_download_to_their_bytes(harness: Harness, tmp_path: Path):
    manager = harness.manager
    await harness.link("1", ALICE)
    picture = png_bytes(40, 30, seed=2)
    document = os.urandom(700 * 1024)
    voice = ogg_opus(tmp_path / "voice.ogg").read_bytes()

    image = await incoming_media(harness, "1", BOB, {"mimetype": "image/png", "data": b64(picture)}, caption="look")
    assert image["type"] == "image" and image["body"] == "" and image["caption"] == "look" and image["fromMe"] is False
    assert image["media"]["mimetype"] == "image/png" and image["media"]["size"] == len(picture)
    assert (image["media"]["width"], image["media"]["height"]) == (40, 30) and is_jpeg_b64(image["media"]["thumbnail"])

    doc = await incoming_media(harness, "1", CAROL, {"mimetype": "application/pdf", "filename": "notes.pdf", "data": b64(document)})
    assert doc["type"] == "document" and doc["caption"] is None
    assert doc["media"] == {"mimetype": "application/pdf", "filename": "notes.pdf", "size": len(document),
                            "duration": None, "width": None, "height": None, "thumbnail": None}

    note = await incoming_media(harness, "1", BOB, {"mimetype": "audio/ogg; codecs=opus", "data": b64(voice)})
    assert note["type"] == "ptt" and note["media"]["duration"] == 1 and note["media"]["size"] == len(voice)
    for event in (image, doc, note):  # never a media secret in an event
        assert not {"mediaKey", "directPath", "filehash", "encFilehash"} & (set(event) | set(event["media"]))

    for event, data, name in ((image, picture, "image.png"), (doc, document, "notes.pdf"), (note, voice, "voice.ogg")):
        dest = tmp_path / "in" / name
        dest.parent.mkdir(exist_ok=True)
        info = await manager.download_media("1", event["id"], dest, max_bytes=10 * 1024 * 1024)
        assert sha256_hex(dest) == sha256_hex(data), name
        assert info["size"] == len(data) and info["mimetype"] == event["media"]["mimetype"]
        assert info["filename"] == event["media"]["filename"]
        assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    # The simulator holds exactly those bytes, by sha256.
    assert await harness.control.media(sha256_hex(voice)) == voice


async def test_an_expired_file_raises_media_expired_and_leaves_no_file(harness: Harness, tmp_path: Path):
    await harness.link("1", ALICE)
    picture = png_bytes(20, 20, seed=3)
    event = await incoming_media(harness, "1", BOB, {"mimetype": "image/png", "data": b64(picture)})
    assert await harness.control.expire_media(sha256_hex(picture)) == 1

    dest = tmp_path / "gone.png"
    with pytest.raises(MediaExpired, match="no longer has this file"):
        await harness.manager.download_media("1", event["id"], dest, max_bytes=1024 * 1024)
    assert not dest.exists()
    with pytest.raises(MediaExpired):  # the page now shows it REUPLOADING, and says so at once
        await harness.manager.download_media("1", event["id"], dest, max_bytes=1024 * 1024)


async def test_max_bytes_is_enforced_and_the_destination_removed(harness: Harness, tmp_path: Path):
    await harness.link("1", ALICE)
    data = os.urandom(600 * 1024)
    event = await incoming_media(harness, "1", BOB, {"mimetype": "application/octet-stream", "filename": "blob.bin", "data": b64(data)})
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"an older file at that place")

    with pytest.raises(MediaTooLarge, match="more than the 100000 allowed") as refused:
        await harness.manager.download_media("1", event["id"], dest, max_bytes=100_000)
    assert isinstance(refused.value, SessionError) and not dest.exists()
    info = await harness.manager.download_media("1", event["id"], dest, max_bytes=len(data))  # exactly: fine
    assert info["size"] == len(data) and sha256_hex(dest) == sha256_hex(data)
    with pytest.raises(ValueError):
        await harness.manager.download_media("1", event["id"], dest, max_bytes=-1)


async def test_media_refusals(harness: Harness, tmp_path: Path):
    manager = harness.manager
    await harness.link("1", ALICE)
    text = await manager.send_text("1", BOB, "just words")
    picture = tmp_path / "p.png"
    picture.write_bytes(png_bytes(10, 10))

    with pytest.raises(MessageNotFound):
        await manager.download_media("1", f"false_{BOB}@c.us_3EB0NOSUCHMESSAGE", tmp_path / "x", max_bytes=1000)
    with pytest.raises(MediaError, match="has no file"):
        await manager.download_media("1", text["id"], tmp_path / "x", max_bytes=1000)
    with pytest.raises(MediaError, match="cannot read the file"):
        await manager.send_media("1", BOB, tmp_path / "missing.png", mimetype="image/png", kind="image")
    with pytest.raises(MediaError, match="could not prepare"):  # a voice note must be audio
        await manager.send_media("1", BOB, picture, mimetype="image/png", kind="voice")
    with pytest.raises(MediaError, match="not a valid image"):  # WhatsApp Web takes it for a document
        await manager.send_media("1", BOB, picture, mimetype="application/pdf", kind="image")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    with pytest.raises(MediaError, match="cannot be read"):
        await manager.send_media("1", BOB, broken, mimetype="image/png", kind="image")
    with pytest.raises(MessageNotFound):
        await manager.send_media("1", BOB, picture, mimetype="image/png", kind="image", quoted_id=f"true_{BOB}@c.us_NOPE")
    with pytest.raises(ValueError):
        await manager.send_media("1", BOB, picture, mimetype="image/png", kind="gif")
    # None of it reached the phone; a good send still works (every failed transfer was freed).
    assert [m["type"] for m in await harness.control.messages(BOB)] == ["chat"]
    sent = await manager.send_media("1", BOB, picture, mimetype="image/png", kind="image")
    await phone_message(harness.control, BOB, lambda m: m["type"] == "image", "the picture")
    assert sent["media"]["size"] == picture.stat().st_size


class TestBounds:
    @pytest.fixture
    def fakewa_settings(self, fakewa_generation: str) -> SimSettings:
        return SimSettings.fast(generation=fakewa_generation, media_limit=64 * 1024)

    async def test_whatsapps_limit_and_the_pages_buffer_bound(self, make_harness, tmp_path: Path):
        harness = make_harness(media_buffer_bytes=512 * 1024)
        await harness.link("1", ALICE)
        big_picture = tmp_path / "big.png"
        big_picture.write_bytes(png_bytes(160, 160))  # ~77 KB: over the simulator's 64 KiB media limit
        with pytest.raises(MediaError, match="WhatsApp takes at most 65536 bytes for image files"):
            await harness.manager.send_media("1", BOB, big_picture, mimetype="image/png", kind="image")
        too_big = tmp_path / "large.bin"
        too_big.write_bytes(os.urandom(600 * 1024))
        with pytest.raises(MediaError, match="holds at most 524288 bytes"):
            await harness.manager.send_media("1", BOB, too_big, mimetype="application/octet-stream", kind="document")
        fits = tmp_path / "fits.bin"
        fits.write_bytes(os.urandom(400 * 1024))
        sent = await harness.manager.send_media("1", BOB, fits, mimetype="application/octet-stream", kind="document")
        got = await phone_message(harness.control, BOB, lambda m: m["id"]["id"] == sent["id"].split("_")[-1])
        assert got["media"]["sha256"] == sha256_hex(fits)

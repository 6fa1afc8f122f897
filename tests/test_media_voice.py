"""Voice notes: WhatsApp plays OGG/Opus only, so other audio is converted with ffmpeg (Debian's,
as the Makefile installs it); what ffmpeg cannot read as audio is refused."""
from __future__ import annotations

import os
import subprocess

import pytest

from server.errors import ApiError
from tests.support.media import media_service, mode
from tests.support.files import audio_codec, make_wav, pdf_bytes, sha256_of
from tests.support.server import bearer

SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}


async def upload(server, token, user_id, data: bytes, content_type: str = "application/octet-stream"):
    response = await server.client.post(f"/api/whatsapp/media/{user_id}", content=data,
                                        headers={**bearer(token), "Content-Type": content_type})
    assert response.status_code == 201, response.text
    return response.json()


async def test_audio_becomes_an_ogg_opus_voice_note(make_server, tmp_path):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    media = media_service(server)
    wav = (await upload(server, token, uid, make_wav(tmp_path / "tone.wav").read_bytes(), "audio/wav"))
    assert wav["mimetype"] == "audio/wav"
    assert (await media.for_send(uid, wav["mediaId"], None)).kind == "audio"

    note = await media.for_send(uid, wav["mediaId"], "voice")
    assert (note.kind, note.mimetype) == ("voice", "audio/ogg; codecs=opus")
    head = note.path.read_bytes()[:512]
    assert head.startswith(b"OggS") and b"OpusHead" in head
    assert audio_codec(note.path) == "opus"
    assert sha256_of(note.path.read_bytes()) == note.sha256 and note.path.stat().st_size == note.size
    assert note.sha256 != wav["sha256"] and mode(note.path) == 0o600
    rows = await server.count("wa_media")
    again = await media.for_send(uid, wav["mediaId"], "voice")  # made once, found again
    assert (again.path, again.sha256) == (note.path, note.sha256) and await server.count("wa_media") == rows

    # A file that is OGG/Opus already is sent as it is.
    opus_path = tmp_path / "note.ogg"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(tmp_path / "tone.wav"), "-c:a", "libopus",
                    "-y", str(opus_path)], check=True)
    opus = await upload(server, token, uid, opus_path.read_bytes())
    assert opus["mimetype"] == "audio/ogg"
    as_is = await media.for_send(uid, opus["mediaId"], "voice")
    assert as_is.sha256 == opus["sha256"] and as_is.mimetype == "audio/ogg; codecs=opus"


async def test_what_ffmpeg_cannot_read_as_audio_is_refused(make_server, tmp_path):
    server = await make_server(whatsapp=SESSION)
    token, user = await server.register()
    uid = user["id"]
    media = media_service(server)
    secret = tmp_path / "secret.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(make_wav(tmp_path / "s.wav")), "-y", str(secret)],
                   check=True)
    garbage = await upload(server, token, uid, os.urandom(4096))
    pdf = await upload(server, token, uid, pdf_bytes())
    # An HLS playlist naming a local file (ffmpeg would happily play it): it may open only the
    # uploaded file, as audio.
    hls = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{secret}\n#EXT-X-ENDLIST\n"
    playlist = await upload(server, token, uid, hls.encode(), "text/plain")
    before = await server.count("wa_media")
    for item in (garbage, pdf, playlist):
        with pytest.raises(ApiError) as refusal:
            await media.for_send(uid, item["mediaId"], "voice")
        assert refusal.value.status_code == 422 and "audio" in refusal.value.message, item
    assert await server.count("wa_media") == before
    assert list((server.app.data_dir / "media" / "tmp").iterdir()) == []


async def test_without_ffmpeg_voice_notes_are_unavailable(make_server, tmp_path):
    server = await make_server(whatsapp={**SESSION, "media": {"ffmpeg": str(tmp_path / "no-ffmpeg-here")}})
    token, user = await server.register()
    uid = user["id"]
    wav = await upload(server, token, uid, make_wav(tmp_path / "tone.wav").read_bytes(), "audio/wav")
    with pytest.raises(ApiError) as refusal:
        await media_service(server).for_send(uid, wav["mediaId"], "voice")
    assert refusal.value.status_code == 503
    assert "ffmpeg" in refusal.value.message and "Debian" in refusal.value.message
    assert (await media_service(server).for_send(uid, wav["mediaId"], "audio")).kind == "audio"  # needs no ffmpeg

"""Voice notes: WhatsApp plays OGG/Opus only, so other audio is converted with ffmpeg.

ffmpeg runs in a subprocess (off the event loop), bounded in time (the service runs one at a
time: the machine's cores serve every session). It reads the user's file, so it is kept to reading that one
file as audio: only the ``file`` protocol and audio/video demuxers (no playlists such as HLS
or concat, which could make it open other files or URLs).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from server.errors import ApiError

log = logging.getLogger("wamulti.whatsapp.media")

VOICE_TYPE = "audio/ogg; codecs=opus"
DEMUXERS = (
    "wav,w64,mp3,ogg,mov,matroska,webm,flac,aac,amr,amrnb,amrwb,aiff,asf,avi,caf,au,mpeg,mpegts,ac3,eac3,wv,ape,tta"
)

def is_ogg_opus(path: Path) -> bool:
    """An Ogg stream whose first packet is an Opus header. Blocking (reads 512 bytes)."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    return head.startswith(b"OggS") and b"OpusHead" in head


def command(ffmpeg: str, source: Path, dest: Path) -> list[str]:
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-protocol_whitelist", "file", "-format_whitelist", DEMUXERS,
        "-i", f"file:{source}",
        "-map", "0:a:0", "-vn", "-map_metadata", "-1",
        "-c:a", "libopus", "-b:a", "32k", "-ar", "48000", "-ac", "1",
        "-f", "ogg", "-y", f"file:{dest}",
    ]


async def transcode(ffmpeg: str, source: Path, dest: Path, timeout: float) -> None:
    """Write ``source`` as OGG/Opus to ``dest`` (which exists, 0600). ApiError 422 when ffmpeg
    cannot read it as audio, 503 when there is no ffmpeg."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command(ffmpeg, source, dest),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
    except (FileNotFoundError, PermissionError):
        log.error("cannot make a voice note: %s is not an installed ffmpeg", ffmpeg)
        raise ApiError(503, "Voice notes cannot be made on this server: ffmpeg is not installed "
                            "(install Debian's ffmpeg package).") from None
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        await _stop(proc)
        raise ApiError(422, f"The file could not be made a voice note within {timeout:g} seconds.") from None
    except asyncio.CancelledError:
        await _stop(proc)
        raise
    if proc.returncode != 0:
        log.info("ffmpeg could not read an upload as audio: %s", err.decode("utf-8", "replace").strip()[-500:])
        raise ApiError(422, "The file could not be read as audio, so it cannot be sent as a voice note.")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    await proc.wait()

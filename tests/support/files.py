"""Real files for the tests that send, receive and store media: images, documents, voice notes
and videos (ffmpeg makes the audio and video), random files written and streamed from disk,
multipart bodies, and their hashes."""
from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any, AsyncIterator

CHUNK = 64 * 1024


def png_bytes(width: int = 2, height: int = 2, seed: int = 0) -> bytes:
    """A real PNG of random RGB pixels (about 3 bytes a pixel: noise does not compress)."""
    rng = random.Random(seed)
    rows = b"".join(b"\0" + bytes(rng.getrandbits(8) for _ in range(width * 3)) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def ogg_opus(path: Path, seconds: int = 1) -> Path:
    """A voice note as phones record them (OGG/Opus), made by ffmpeg from a 440 Hz tone."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed to make a voice note: apt-get install -y ffmpeg"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:a", "libopus", str(path)], check=True, timeout=60)
    return path


def webm_video(path: Path, seconds: int = 1, size: str = "64x48") -> Path:
    """A short VP8 video (ffmpeg's test pattern): a format Chromium plays without extra codecs."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed to make a video: apt-get install -y ffmpeg"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={size}:rate=10",
                    "-c:v", "libvpx", "-b:v", "100k", str(path)], check=True, timeout=60)
    return path


def sha256_hex(data: bytes | Path) -> str:
    if isinstance(data, Path):
        digest = hashlib.sha256()
        with data.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def is_jpeg_b64(value: Any) -> bool:
    """A base64 JPEG, as WhatsApp carries thumbnails inline."""
    return isinstance(value, str) and base64.b64decode(value)[:3] == b"\xff\xd8\xff"


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` in chunks; their sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left:
            block = os.urandom(min(CHUNK, left))
            digest.update(block)
            handle.write(block)
            left -= len(block)
    return digest.hexdigest()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """The file, 64 KiB at a time (an httpx ``content=``: the body never whole in memory)."""
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            yield block


async def multipart_chunks(path: Path, filename: str, content_type: str, boundary: str) -> AsyncIterator[bytes]:
    """A multipart/form-data body with one part ``file``, streamed from disk."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
           f"Content-Type: {content_type}\r\n\r\n").encode()
    async for block in file_chunks(path):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


def multipart_body(parts: list[tuple[str, str | None, str | None, bytes]], boundary: str = "b0undary") -> tuple[bytes, str]:
    """(body, content type) of parts ``(name, filename, content type, data)``."""
    out = b""
    for name, filename, ctype, data in parts:
        disposition = f"form-data; name=\"{name}\"" + (f"; filename=\"{filename}\"" if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def make_wav(path: Path, seconds: float = 1.0) -> Path:
    """A WAV of a sine tone, made with ffmpeg."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={seconds}", "-y", str(path)],
        check=True,
    )
    return path


def audio_codec(path: Path) -> str:
    """The codec of a file's first audio stream, as ffprobe reads it."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name",
         "-of", "default=noprint_wrappers=1:nokey=1", str(path)],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()

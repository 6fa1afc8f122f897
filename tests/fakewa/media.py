"""Files on the simulated network: its CDN, and what WhatsApp carries about a file.

The real site encrypts a file with a fresh ``mediaKey``, uploads it to WhatsApp's CDN and sends
the recipients a message holding ``directPath`` (where the file is), ``mediaKey`` and the hashes;
the recipients download it from the CDN. The simulator keeps the same roles without the
cryptography: ``MediaStore`` holds each file's bytes once, by sha256 (``GET /__sim/media/{sha256}``
answers them), and every upload gets a ``directPath`` of its own with an unguessable part, so that
only a message's holders find the file. ``mediaKey`` travels with the message as on the real site;
the CDN checks nothing else. A file can expire (``POST /__sim/media/{sha256}/expire``): every copy is
gone, downloads answer 404 and the pages show ``REUPLOADING``.

Also here: the little the network learns from a file's bytes (image dimensions, an Ogg file's
duration) and the thumbnail it carries inline for images and videos a phone sends.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import SimError

# A real 32x24 JPEG (851 bytes): the thumbnail of the images and videos a phone sends through the
# control API. The web page makes its own from the picture, as the site does.
THUMBNAIL_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiIdHR0b"
    "Gx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xACUAAEBAQEBAAAAAAAAAAAAAAAHBgUAAQEBAAIDAQEAAAAAAAAAAAAABwUGAAQC"
    "CAMQAAEBBQYDBwUBAQAAAAAAAAECABIDBRGCQyExwQQzMlEjsyJhFRM1soRzgXRBBhEAAQEFBAgEBAcBAAAAAAAAAQIABAMSEYExBSFC"
    "Q4NBUcHCIjQzYRUTsTJys3RxYmM1FiP/wAARCAAYACADARIAAhIAAxIA/9oADAMBAAIRAxEAPwCGkGyO4MRawRDBSK0NFqFSUg5YAgqp"
    "iAR1ay/5v44/1Re6gt2l2EdQmPam8bzXd+mWbSbrpWc214+NLwmBETCTWNHoELNCmGE1mVQ3q7hKKU3m6ho+O6jadDRUyx9u1o3kxu7W"
    "jKLokJBSkAABIAAoABWgA4N266VnNmjG0pQl2SkBKUhYAAoABJQADIAN3juo2nQzzMbu1o3TG7taN4rddKzm2OulZzYpx3UbTobMd1G0"
    "6GyZBMguIdtFPaKS9DUSPGEZpxNSuiqigNUgk5Mfyf5nYfcdwpmKFHVGSEqzKNLeQePrlfvbSddKzmyG/YTAw6OqLA7EvOZhAdqFIvk4"
    "JVN9NyaZZUAtGO6jadDasl3kvhQTBC3Q89QiJzrAFXiOiR/tBRiqXXlnVoeNGxKEoCEqUKP8PzVde0w9aNvJqu/Ya5v6VqgQjFEEE9pi"
    "1FeCahSiZcgATwa0YFr9n1sn7n0x5Pu5Yu8byry/rNo2Y3drRre4e/zH4l2VfDcmUHXSs5sSYp73Mj413dJ4f0r9Nl7I2O6jadDJM09S"
    "fQ7y1NOFlhXPHo1hMbu1owc5/wCZlNb8q+MYcddKzmxEub/l7l+6W70m8my9vvjuo2nQx1sdhvFKh7nbw+0hglKnkCj4KT4VmhqK5jzD"
    "Ksl4A/HC+kt6BeIbmhEzsKT3eZnT7201eTA+wfIM0KfXB5WqC8xAuK7mVYE9EFV4mhiUnKhAJoRQ0LEUD+xxX80v8WK3/9k="
)

# Send kinds (as clients.SessionManager.send_media names them) and WhatsApp's message types.
KIND_TYPES = {
    "image": "image", "video": "video", "audio": "audio", "voice": "ptt", "document": "document", "sticker": "sticker",
}
MEDIA_TYPES = frozenset(KIND_TYPES.values())
THUMBNAIL_TYPES = frozenset({"image", "video"})
CAPTION_TYPES = frozenset({"image", "video", "document"})  # WhatsApp shows (and edits) a caption on these


def message_type(mimetype: str, kind: str | None = None) -> str:
    """WhatsApp's message type for a file: ``kind`` when given, else from the mimetype (a voice
    note is ``audio/ogg; codecs=opus``, as the phone records them)."""
    if kind is not None:
        if kind not in KIND_TYPES:
            raise SimError(422, f"media.kind must be one of {', '.join(KIND_TYPES)}, not {kind!r}")
        return KIND_TYPES[kind]
    base = mimetype.split(";")[0].strip().lower()
    if base.startswith("image/"):
        return "image"
    if base.startswith("video/"):
        return "video"
    if base.startswith("audio/"):
        return "ptt" if base == "audio/ogg" and "opus" in mimetype.lower() else "audio"
    return "document"


def sha256_b64(data: bytes) -> str:
    """A file's hash as WhatsApp writes it (``filehash``): base64 of its sha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def decode_b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise SimError(422, f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SimError(422, f"{what} is not valid base64") from None


# -- what the network reads from a file ----------------------------------------------------------
def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG, from its header; None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return width, height
            i += 2 + length
    return None


def ogg_duration(data: bytes) -> int | None:
    """Whole seconds of an Ogg/Opus file: the last page's granule position (48 kHz samples)
    less the pre-skip of its OpusHead; None when it is not one."""
    if data[:4] != b"OggS":
        return None
    head = data.find(b"OpusHead")
    last = data.rfind(b"OggS")
    if head < 0 or last < 0 or last + 14 > len(data):
        return None
    pre_skip = struct.unpack("<H", data[head + 10:head + 12])[0]
    granule = struct.unpack("<q", data[last + 6:last + 14])[0]
    return max(0, round((granule - pre_skip) / 48000)) if granule > 0 else None


def describe(data: bytes, mimetype: str, msg_type: str) -> dict[str, Any]:
    """What WhatsApp carries in a media message besides the file: dimensions, duration, thumbnail."""
    info: dict[str, Any] = {"duration": None, "width": None, "height": None, "thumbnail": None}
    if msg_type in ("image", "sticker"):
        size = image_size(data)
        if size:
            info["width"], info["height"] = size
    if msg_type in ("audio", "ptt") and "ogg" in mimetype.lower():
        info["duration"] = ogg_duration(data)
    if msg_type in THUMBNAIL_TYPES:
        info["thumbnail"] = THUMBNAIL_JPEG_B64
    return info


# -- the CDN -------------------------------------------------------------------------------------
@dataclass
class StoredFile:
    sha256: str  # hex
    data: bytes | None  # None once expired: every copy is gone
    mimetype: str
    stored_at: float = field(default_factory=time.time)

    @property
    def expired(self) -> bool:
        return self.data is None


@dataclass
class Upload:
    """One upload of a file: where it is (``direct_path``) and the key its messages carry."""

    direct_path: str
    sha256: str
    media_key: str
    media_key_timestamp: int
    enc_filehash: str


class MediaStore:
    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}
        self.uploads: dict[str, Upload] = {}  # direct path (without its query) -> upload

    def reset(self) -> None:
        self.files.clear()
        self.uploads.clear()

    def put(self, data: bytes, mimetype: str, media_key: str | None = None) -> Upload:
        """Keep ``data`` (once per sha256; an expired file comes back) and give it a new path."""
        digest = hashlib.sha256(data).hexdigest()
        stored = self.files.get(digest)
        if stored is None or stored.expired:
            self.files[digest] = StoredFile(digest, bytes(data), mimetype)
        media_key = media_key or base64.b64encode(secrets.token_bytes(32)).decode()
        path = f"/v/t62.7118-24/{secrets.token_hex(12)}_{secrets.randbelow(10**15)}_n.enc"
        enc = base64.b64encode(hashlib.sha256(media_key.encode() + bytes.fromhex(digest)).digest()).decode()
        upload = Upload(path, digest, media_key, int(time.time()), enc)
        self.uploads[path] = upload
        return upload

    def upload_at(self, direct_path: Any) -> Upload | None:
        if not isinstance(direct_path, str):
            return None
        return self.uploads.get(direct_path.split("?", 1)[0])

    def download(self, path: str) -> StoredFile:
        """What the CDN answers at ``path``: 404 for a path it never gave or a file that expired."""
        upload = self.uploads.get(path)
        stored = self.files.get(upload.sha256) if upload else None
        if stored is None or stored.expired:
            raise SimError(404, "no such file on the CDN (expired or never uploaded)")
        return stored

    def file(self, sha256: str) -> StoredFile:
        stored = self.files.get(sha256.lower())
        if stored is None:
            raise SimError(404, f"the network never held a file with sha256 {sha256}")
        return stored

    def expire(self, sha256: str) -> StoredFile:
        stored = self.file(sha256)
        stored.data = None
        return stored

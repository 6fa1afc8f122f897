"""What a file is: its type sniffed from its bytes, checked against the type a client declared.

A client says what it sends (a ``Content-Type``, a part's type, a server's answer) and may be
wrong or lying; the bytes decide. puremagic lists the signatures a file's first and last bytes
match (several, most confident first); text has no signature, so whether bytes *look like
text* (UTF-8, no NUL) is checked on its own.

- No type declared, or a generic one (``application/octet-stream``): the sniffed type.
- A declared type the bytes agree with (one of the signatures matched, or the same container:
  an ``audio/mp4`` that puremagic calls ``video/mp4``, a ``.docx`` that is a zip): the declared one.
- A text type (``text/plain``, ``application/json``, ``image/svg+xml``...) declared for bytes
  that look like text: the declared one, whatever a weak signature says.
- Otherwise a declared type that disagrees with the bytes is refused, naming both.
"""
from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

import puremagic
from puremagic.main import magic_footer_array, magic_header_array, multi_part_dict

GENERIC = frozenset({
    "application/octet-stream", "binary/octet-stream", "application/binary", "application/x-binary",
    "application/unknown", "application/download", "application/force-download",
})
ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png", "image/x-ms-bmp": "image/bmp",
    "image/x-icon": "image/vnd.microsoft.icon", "audio/mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg", "audio/x-mp3": "audio/mpeg", "audio/wave": "audio/wav", "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4", "audio/x-flac": "audio/flac",
    "audio/x-aiff": "audio/aiff", "audio/amr": "audio/amr", "audio/x-opus+ogg": "audio/ogg",
    "audio/x-vorbis+ogg": "audio/ogg", "audio/opus": "audio/ogg", "video/x-m4v": "video/mp4",
    "video/avi": "video/x-msvideo", "application/x-pdf": "application/pdf", "application/x-zip-compressed": "application/zip",
    "text/xml": "application/xml", "application/x-javascript": "text/javascript", "application/javascript": "text/javascript",
}
# Containers whose members puremagic cannot tell apart from their first bytes.
_FAMILIES = {
    "ogg": {"application/ogg", "audio/ogg", "video/ogg", "audio/x-flac+ogg", "audio/x-speex+ogg", "video/x-theora+ogg",
            "video/x-ogm+ogg"},
    "mp4": {"video/mp4", "audio/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "audio/3gpp", "audio/3gpp2",
            "audio/x-m4b", "image/heic", "image/heif", "image/avif"},
    "matroska": {"video/webm", "audio/webm", "video/x-matroska", "audio/x-matroska"},
    "ole": {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/x-ole-storage",
            "application/vnd.ms-outlook", "application/vnd.visio"},
}
_FAMILY_DEFAULT = {"ogg": "application/ogg", "mp4": "video/mp4", "matroska": "video/x-matroska",
                   "ole": "application/x-ole-storage", "zip": "application/zip"}
_ZIP_PREFIXES = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
_ZIP_TYPES = {"application/zip", "application/java-archive", "application/vnd.android.package-archive",
              "application/x-xpinstall", "application/vnd.apple.keynote", "application/vnd.apple.pages"}
TEXTUAL = frozenset({
    "application/json", "application/xml", "text/javascript", "application/ecmascript", "application/x-sh",
    "application/x-csh", "application/yaml", "application/x-yaml", "application/sql", "application/x-httpd-php",
    "application/graphql", "application/x-tex", "application/rtf",
})
# Text that browsers may run or render as a page: kept as sniffed so that it is served as such.
MARKUP = ("text/html", "image/svg+xml", "application/xml")
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
TEXT_PROBE = 8192  # bytes read to tell text from binary
# puremagic's confidence for a signature of 4 bytes or more: a binary format that happens to be
# all text (a PDF without a binary comment) is still that format; 2 or 3 bytes are not enough.
STRONG = 0.4


class TypeMismatch(ValueError):
    """The declared type is not what the bytes are; the message names both."""


def normalize(mimetype: str | None) -> str | None:
    """``Image/JPG; charset=x`` -> ``image/jpeg``; None for nothing, a generic type or garbage."""
    if not mimetype:
        return None
    base = mimetype.split(";", 1)[0].strip().lower()
    base = ALIASES.get(base, base)
    if not _TOKEN.match(base) or base in GENERIC:
        return None
    return base


def family(mimetype: str) -> str | None:
    if mimetype in _ZIP_TYPES or mimetype.endswith("+zip") or mimetype.startswith(_ZIP_PREFIXES) or "macroenabled" in mimetype:
        return "zip"
    return next((name for name, members in _FAMILIES.items() if mimetype in members), None)


def is_textual(mimetype: str) -> bool:
    return mimetype.startswith("text/") or mimetype.endswith(("+xml", "+json")) or mimetype in TEXTUAL


def _known_signatures() -> frozenset[str]:
    """Binary types puremagic has a signature for: declared, they must show it."""
    rows = [*magic_header_array, *magic_footer_array, *(row for options in multi_part_dict.values() for row in options)]
    known = {normalize(row.mime_type) for row in rows}
    return frozenset(m for m in known if m and not is_textual(m))


SIGNED = _known_signatures()


@dataclass(frozen=True)
class Sniffed:
    """What the bytes of a file say about it."""

    candidates: tuple[str, ...]  # types whose signature matched, most confident first
    top: tuple[str, ...]  # those of the highest confidence
    strong: tuple[str, ...]  # binary types matched by a signature of 4 bytes or more
    text: bool  # UTF-8 without NUL bytes
    head: bytes  # the first bytes, for the codec of an Ogg file
    empty: bool


def looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    for cut in range(4):  # the probe may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff(path: str | Path) -> Sniffed:
    """Read a file's first and last bytes (blocking: run it in a thread)."""
    with open(path, "rb") as handle:
        head = handle.read(TEXT_PROBE)
    if not head:
        return Sniffed((), (), (), False, b"", True)
    try:
        matches = puremagic.magic_file(str(path))
    except Exception:  # noqa: BLE001 - it parses untrusted bytes: whatever it trips on, no signature matched
        matches = []
    ordered: list[str] = []
    best = max((m.confidence for m in matches if normalize(m.mime_type)), default=None)
    top: list[str] = []
    strong: list[str] = []
    for match in matches:
        mimetype = normalize(match.mime_type)
        if mimetype is None:
            continue
        if mimetype not in ordered:
            ordered.append(mimetype)
        if match.confidence == best and mimetype not in top:
            top.append(mimetype)
        if match.confidence >= STRONG and not is_textual(mimetype) and mimetype not in strong:
            strong.append(mimetype)
    return Sniffed(tuple(ordered), tuple(top), tuple(strong), looks_like_text(head), head[:512], False)


def agrees(declared: str, candidates: tuple[str, ...]) -> bool:
    if declared in candidates:
        return True
    kin = family(declared)
    return kin is not None and any(family(c) == kin for c in candidates)


def _ogg_type(head: bytes) -> str:
    if b"OpusHead" in head or b"\x01vorbis" in head or b"\x7fFLAC" in head or b"Speex   " in head:
        return "audio/ogg"
    if b"\x80theora" in head:
        return "video/ogg"
    return "application/ogg"


def guess(sniffed: Sniffed, filename: str | None = None) -> str:
    """The type of a file nobody declared a (specific) type for; the filename breaks ties."""
    hint = normalize(mimetypes.guess_type(filename)[0]) if filename else None
    if sniffed.text:
        markup = next((c for c in sniffed.candidates if c in MARKUP), None)
        if markup:
            return markup
        if sniffed.strong:
            return sniffed.strong[0]
        return hint if hint and is_textual(hint) else "text/plain"
    if not sniffed.candidates:
        return "application/octet-stream"
    if hint and agrees(hint, sniffed.candidates):
        chosen = hint
    elif len(sniffed.top) > 1 and len({family(t) for t in sniffed.top}) == 1 and family(sniffed.top[0]):
        chosen = _FAMILY_DEFAULT[family(sniffed.top[0])]  # a zip that could be a .docx, a .xlsx...
    else:
        chosen = sniffed.top[0] if sniffed.top else sniffed.candidates[0]
    return _ogg_type(sniffed.head) if family(chosen) == "ogg" else chosen


def resolve(declared: str | None, sniffed: Sniffed, filename: str | None = None) -> str:
    """The file's type: the declared one when the bytes agree, else the sniffed one when none was
    declared; TypeMismatch when they disagree. ``declared`` may carry parameters (dropped)."""
    wanted = normalize(declared)
    if wanted is None:
        return guess(sniffed, filename)
    if sniffed.text and is_textual(wanted):
        return wanted
    if sniffed.candidates and agrees(wanted, sniffed.candidates):
        return wanted
    if sniffed.candidates or (sniffed.text and wanted in SIGNED):
        raise TypeMismatch(f"The file is {guess(sniffed, filename)}, not {wanted} as declared.")
    if not sniffed.text and is_textual(wanted):
        raise TypeMismatch(f"The file is binary, not {wanted} as declared.")
    if wanted in SIGNED:
        raise TypeMismatch(f"The file is not {wanted} as declared: its bytes have no {wanted} signature.")
    return wanted  # a type puremagic does not know, for bytes that do not contradict it


# -- what WhatsApp sends them as, and how they are served --------------------------------------
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
KINDS = ("image", "video", "audio", "voice", "document", "sticker")


def kind_for(mimetype: str) -> str:
    """The kind a file is sent as when none was asked for."""
    if mimetype in IMAGES:
        return "image"
    if mimetype.startswith("video/"):
        return "video"
    if mimetype.startswith("audio/"):
        return "audio"
    return "document"


def kind_problem(kind: str, mimetype: str) -> str | None:
    """Why a file of ``mimetype`` cannot be sent as ``kind`` (None when it can). A voice note is
    made from any audio (see voice.py), so it is not judged by its type here."""
    if kind in ("image", "sticker") and mimetype not in IMAGES:
        return f"An {kind} must be a JPEG, PNG, WebP or GIF picture; this file is {mimetype}."
    if kind == "video" and not mimetype.startswith("video/"):
        return f"A video must be a video file; this file is {mimetype}."
    if kind == "audio" and not mimetype.startswith("audio/"):
        return f"An audio message must be an audio file; this file is {mimetype}."
    return None


# Types a browser only displays: they may be shown in the page. Anything else (HTML, SVG, XML,
# scripts, text...) is always a download, so a file can never run script in the server's origin.
_INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/avif", "application/pdf"})


def is_inline_safe(mimetype: str) -> bool:
    return mimetype in _INLINE or (mimetype.startswith(("audio/", "video/")) and not is_textual(mimetype))


def extension_for(mimetype: str) -> str:
    return {"image/jpeg": ".jpg", "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "text/plain": ".txt"}.get(
        mimetype, mimetypes.guess_extension(mimetype) or ""
    )

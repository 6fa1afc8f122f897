"""File names from clients, made safe to keep, send and put in a header."""
from __future__ import annotations

import os
import re
import unicodedata
from email.message import Message
from urllib.parse import quote, unquote, urlsplit

from plugins.whatsapp.media.types import extension_for

MAX_FILENAME = 200  # characters
_MAX_EXTENSION = 16
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()+,=@-]")


def clean_filename(raw: str | None) -> str | None:
    """The last path part of ``raw``, without control or format characters (no bidi overrides),
    at most MAX_FILENAME characters with its extension kept; None when nothing is left."""
    if not raw:
        return None
    name = unicodedata.normalize("NFC", str(raw)).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C")).strip()
    if name in ("", ".", ".."):
        return None
    if len(name) > MAX_FILENAME:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= _MAX_EXTENSION else ""
        name = stem[: MAX_FILENAME - len(ext)].rstrip() + ext
    return name


def from_disposition(value: str | None) -> str | None:
    """The filename of a ``Content-Disposition`` header (``filename*=UTF-8''...`` too), cleaned."""
    if not value:
        return None
    message = Message()
    try:
        message["Content-Disposition"] = value
        filename = message.get_filename()
    except (ValueError, TypeError, LookupError):
        return None
    return clean_filename(filename)


def from_url(url: str) -> str | None:
    """The last segment of a URL's path, as a filename."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return clean_filename(unquote(path.rsplit("/", 1)[-1]))


def default_filename(mimetype: str) -> str:
    return "file" + extension_for(mimetype)


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients, and the real name as ``filename*``."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = _ASCII_UNSAFE.sub("_", fallback).strip() or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"

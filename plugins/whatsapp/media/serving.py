"""Serving a stored file: streamed from disk, with ranges, validators, and never as a page.

A user's file is served from the server's own origin, so a file must never run script there:
only types a browser merely displays (pictures, audio, video, PDF) may be ``inline``; anything
else (HTML, SVG, XML, scripts, text...) is an ``attachment`` under
``Content-Security-Policy: sandbox; default-src 'none'``, and ``nosniff`` keeps browsers to the
type given.
"""
from __future__ import annotations

import re
from typing import Any

from tornado.iostream import StreamClosedError

from server.errors import ApiError

from plugins.whatsapp.media.names import content_disposition, default_filename
from plugins.whatsapp.media.service import MediaFile
from plugins.whatsapp.media.types import is_inline_safe

CHUNK = 64 * 1024
CACHE_SECONDS = 3600
SANDBOX = "sandbox; default-src 'none'"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def etag_of(sha256: str) -> str:
    return f'"{sha256}"'


def _matches(header: str, etag: str) -> bool:
    """If-None-Match: ``*`` or a list of tags, compared weakly (RFC 9110 13.1.2)."""
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single ``Range`` (None: serve it all); ApiError 416 when it
    cannot be satisfied. Several ranges are not served as such: the whole file is."""
    if not header or "," in header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # not a bytes range we understand: ignored, as RFC 9110 allows
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - count), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(416, f"The range is outside the file's {size} bytes.", code="range_not_satisfiable",
                    headers={"Content-Range": f"bytes */{size}"})


async def send_file(handler: Any, media: MediaFile) -> None:
    """Answer ``media`` to a GET: 200, 206 for a satisfiable single range, 304 when the client's
    copy is current. The file is opened before anything is sent (a file removed afterwards is
    still read whole) and streamed in chunks, waiting for each to leave."""
    etag = etag_of(media.sha256)
    handler.set_header("ETag", etag)
    handler.set_header("Cache-Control", f"private, max-age={CACHE_SECONDS}")
    handler.set_header("Accept-Ranges", "bytes")
    handler.set_header("X-Content-Type-Options", "nosniff")
    inline = is_inline_safe(media.mimetype)
    if not inline:
        handler.set_header("Content-Security-Policy", SANDBOX)
    filename = media.filename or default_filename(media.mimetype)
    handler.set_header("Content-Disposition", content_disposition("inline" if inline else "attachment", filename))
    if _matches(handler.request.headers.get("If-None-Match", ""), etag):
        handler.set_status(304)
        handler.finish()
        return
    try:
        handle = open(media.path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise ApiError(404, "The file is no longer kept here.") from None
    with handle:
        size = media.size
        wanted = handler.request.headers.get("Range")
        if_range = handler.request.headers.get("If-Range")
        if if_range is not None and if_range.strip() != etag:
            wanted = None  # the client's partial copy is of other bytes: send them all
        span = byte_range(wanted, size)
        first, last = span if span is not None else (0, size - 1)
        if span is not None:
            handler.set_status(206)
            handler.set_header("Content-Range", f"bytes {first}-{last}/{size}")
        handler.set_header("Content-Type", media.mimetype)
        handler.set_header("Content-Length", str(max(0, last - first + 1)))
        handle.seek(first)
        remaining = last - first + 1
        try:
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                handler.write(chunk)
                await handler.flush()
        except StreamClosedError:
            return  # the client went away
    handler.finish()

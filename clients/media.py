"""Files between Python and the page, in chunks: no DevTools message ever carries a whole file.

Out: ``mediaBegin`` → a handle, ``mediaChunk`` per ``CHUNK`` bytes of the file (base64), then the
bridge's ``sendMedia`` sends it. In: ``mediaOpen`` downloads the file inside the page, then
``mediaRead`` brings it over ``CHUNK`` bytes at a time, written to disk as it comes, and
``mediaClose`` lets it go. The page drops a transfer that ends, fails or sits unused for a minute.
File contents are never logged.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .base import MediaError, MediaTooLarge, SessionError

log = logging.getLogger(__name__)

CHUNK = 256 * 1024  # bytes of file per DevTools call, either way (the bridge refuses more)


class Caller(Protocol):
    async def call(self, name: str, *args: Any, timeout: float | None = None) -> Any: ...

    def touch(self) -> None: ...


async def upload(session: Caller, path: Path) -> str:
    """Copy the file at ``path`` into the page; returns the handle ``sendMedia`` takes."""
    try:
        size = (await asyncio.to_thread(os.stat, path)).st_size
        file: BinaryIO = await asyncio.to_thread(open, path, "rb")
    except OSError as exc:
        raise MediaError(f"cannot read the file to send: {exc.strerror or exc}") from None
    try:
        handle = await session.call("mediaBegin", {"size": size})
        try:
            sent = 0
            while sent < size:
                chunk = await asyncio.to_thread(file.read, min(CHUNK, size - sent))
                if not chunk:
                    raise MediaError("the file shrank while it was being sent")
                await session.call("mediaChunk", handle, base64.b64encode(chunk).decode("ascii"))
                sent += len(chunk)
                session.touch()
        except BaseException:
            await close_quietly(session, handle)
            raise
    finally:
        await asyncio.to_thread(file.close)
    return handle


async def download(session: Caller, message_id: str, dest: Path, max_bytes: int, timeout: float) -> dict[str, Any]:
    """Write a message's file to ``dest`` (mode 0600) as its chunks arrive; on any failure
    ``dest`` is removed. Returns ``{"mimetype", "filename", "size"}``."""
    try:
        opened = await session.call("mediaOpen", message_id, max_bytes, timeout=timeout)
    except SessionError:
        await asyncio.to_thread(_remove, dest)
        raise
    handle, size = opened["handle"], int(opened["size"])
    try:
        if size > max_bytes:
            raise MediaTooLarge(f"the file has {size} bytes, more than the {max_bytes} allowed")
        written = await _receive(session, handle, size, dest, max_bytes)
    except BaseException:
        await asyncio.to_thread(_remove, dest)
        raise
    finally:
        await close_quietly(session, handle)
    return {"mimetype": opened.get("mimetype"), "filename": opened.get("filename"), "size": written}


async def _receive(session: Caller, handle: str, size: int, dest: Path, max_bytes: int) -> int:
    fd = await asyncio.to_thread(os.open, dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        written = 0
        while written < size:
            data = base64.b64decode(await session.call("mediaRead", handle, written, min(CHUNK, size - written)))
            if not data:
                raise MediaError("the page ended the file early")
            if written + len(data) > max_bytes:
                raise MediaTooLarge(f"the file is larger than the {max_bytes} bytes allowed")
            await asyncio.to_thread(out.write, data)
            written += len(data)
            session.touch()
    return written


async def close_quietly(session: Caller, handle: str) -> None:
    """Let the page drop a transfer; a session that went away dropped it already."""
    try:
        await session.call("mediaClose", handle)
    except SessionError as exc:
        log.debug("closing a media transfer failed: %s", exc)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)

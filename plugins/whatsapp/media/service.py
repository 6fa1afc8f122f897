"""The media subsystem's façade: uploads in, files out for sending, messages' media for reading.

``MediaService`` is made by the WhatsApp service (``MediaService(app, manager)``, the manager
being its ``clients.SessionManager``), started with the plugin and closed with it. Handlers
and the send code use it; nothing else touches the store of files (``storage``).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients import MediaError, MediaExpired, MediaTooLarge, MessageNotFound, NotConnected, SessionError
from server.errors import ApiError, Conflict, NotFound
from server.outbound import OutboundError, fetch_to_file

from plugins.whatsapp import store
from plugins.whatsapp.media import types, voice
from plugins.whatsapp.media.names import clean_filename, default_filename, from_url
from plugins.whatsapp.media.storage import DOWNLOAD, SENT, UPLOAD, VOICE, MediaStore, QuotaExceeded, StoredMedia

log = logging.getLogger("wamulti.whatsapp.media")

HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Outgoing:
    """A stored file, ready to be sent as ``kind`` (see ``clients.SessionManager.send_media``)."""

    path: Path
    mimetype: str
    filename: str | None
    kind: str
    sha256: str
    size: int


@dataclass(frozen=True)
class MediaFile:
    """A stored file to serve."""

    path: Path
    mimetype: str
    filename: str | None
    size: int
    sha256: str


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file, read in chunks. Blocking."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _exists(path: Path) -> bool:
    return os.path.isfile(path)


class MediaService:
    def __init__(self, app: Any, manager: Any) -> None:
        self.app = app
        self.manager = manager
        self.settings: dict[str, Any] = dict(app.config["whatsapp"]["media"])
        self.files = MediaStore(app.db, Path(app.config.data_dir) / "media", self.settings["quota_bytes"])
        self._downloads: dict[tuple[int, str], asyncio.Task[MediaFile]] = {}
        self._transcodes = asyncio.Semaphore(1)  # ffmpeg takes a core; the sessions need the other
        self._sweeper: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Make the folders and start the retention sweeper (its first pass now: it also removes
        what a crash left behind)."""
        await asyncio.to_thread(self.files.prepare)
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        tasks = [t for t in (self._sweeper, *self._downloads.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sweeper = None

    async def sweep(self) -> int:
        """One pass of the retention sweeper; the number of rows dropped."""
        dropped = await self.files.sweep(self.settings["retention_days"] * 86400)
        if dropped:
            log.info("media retention: dropped %d file record(s) unused for %g days", dropped, self.settings["retention_days"])
        return dropped

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.exception("media retention sweep failed")
            await asyncio.sleep(self.settings["sweep_interval"])

    async def forget_user(self, user_id: int) -> None:
        """Every file and record of the user (deleted, or their session cleared)."""
        await self.files.forget_user(user_id)

    async def forget_message(self, user_id: int, message_id: str) -> None:
        """The copy kept of a message's media, if any (the message was deleted or revoked)."""
        await self.files.delete_for_message(user_id, message_id)

    # -- uploads ---------------------------------------------------------------------------------
    async def add_upload(
        self, user_id: int, temp: Path, *, sha256: str, size: int, declared: str | None, filename: str | None
    ) -> StoredMedia:
        """A finished upload in ``temp`` (which is consumed): its type checked against its bytes,
        kept within the user's quota. 422 empty or a type that disagrees, 413 over the quota."""
        try:
            if size == 0:
                raise ApiError(422, "The file is empty.")
            sniffed = await asyncio.to_thread(types.sniff, temp)
            try:
                mimetype = types.resolve(declared, sniffed, filename)
            except types.TypeMismatch as exc:
                raise ApiError(422, str(exc)) from None
            try:
                return await self.files.admit(
                    user_id, temp, sha256=sha256, size=size, mimetype=mimetype, filename=filename, direction=UPLOAD
                )
            except QuotaExceeded as exc:
                raise ApiError(413, str(exc)) from None
        finally:
            temp.unlink(missing_ok=True)

    async def add_bytes(self, user_id: int, data: bytes, *, mimetype: str | None, filename: str | None) -> StoredMedia:
        """An upload made of ``data`` (a plugin's file), checked and kept like any upload."""
        temp = self.files.new_temp()
        await asyncio.to_thread(temp.write_bytes, data)
        return await self.add_upload(user_id, temp, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                                     declared=mimetype, filename=filename)

    async def fetch_url(self, user_id: int, url: str, filename: str | None = None) -> StoredMedia:
        """Upload the file at an https URL, fetched through ``server.outbound`` (no private
        addresses unless the settings allow them)."""
        cfg = self.settings
        allow: Any = cfg["fetch_allow_private"]
        if allow and cfg.get("fetch_private_networks"):
            allow = cfg["fetch_private_networks"]
        temp = self.files.new_temp()
        try:
            result = await fetch_to_file(
                url, temp, max_bytes=cfg["max_upload_bytes"], timeout=cfg["fetch_timeout"], allow_private=allow,
                ca_file=cfg["fetch_ca_file"],
            )
        except OutboundError as exc:
            temp.unlink(missing_ok=True)
            raise _fetch_error(exc) from None
        name = clean_filename(filename) or from_url(result.final_url)
        return await self.add_upload(
            user_id, temp, sha256=result.sha256, size=result.size, declared=result.content_type, filename=name
        )

    async def get(self, user_id: int, media_id: str) -> MediaFile:
        """One of the user's stored files by its mediaId (404 for another user's)."""
        media = await self._own(user_id, media_id)
        await self.files.touch(media)
        return _media_file(media)

    async def delete(self, user_id: int, media_id: str) -> None:
        if not await self.files.delete(user_id, media_id):
            raise NotFound("No such media file.")

    async def _own(self, user_id: int, media_id: str) -> StoredMedia:
        media = await self.files.get(user_id, media_id)
        if media is None or not await asyncio.to_thread(_exists, media.path):
            raise NotFound("No such media file.")
        return media

    # -- sending ---------------------------------------------------------------------------------
    async def for_send(self, user_id: int, media_id: str, kind: str | None) -> Outgoing:
        """The user's file ``media_id``, ready to send as ``kind`` (None: chosen from its type).

        404 unknown or another user's; 422 a kind that does not fit the file (an ``image`` that
        is a PDF) or, for ``voice``, a file ffmpeg cannot read as audio; 503 no ffmpeg.
        """
        media = await self._own(user_id, media_id)
        if kind is not None and kind not in types.KINDS:
            raise ApiError(422, f"Unknown kind {kind!r}: one of {', '.join(types.KINDS)}.")
        kind = kind or types.kind_for(media.mimetype)
        if kind == "voice":
            media = await self._voice_note(user_id, media)
            mimetype = voice.VOICE_TYPE
        else:
            problem = types.kind_problem(kind, media.mimetype)
            if problem:
                raise ApiError(422, problem)
            mimetype = media.mimetype
        await self.files.touch(media)
        filename = media.filename or (default_filename(media.mimetype) if kind == "document" else None)
        return Outgoing(media.path, mimetype, filename, kind, media.sha256, media.size)

    async def _voice_note(self, user_id: int, media: StoredMedia) -> StoredMedia:
        """``media`` itself when it is OGG/Opus, else an OGG/Opus copy made by ffmpeg (kept, and
        found again for the next send of the same file)."""
        if await asyncio.to_thread(voice.is_ogg_opus, media.path):
            return media
        made = await self.files.voice_of(user_id, media.sha256)
        if made is not None and await asyncio.to_thread(_exists, made.path):
            return made
        temp = self.files.new_temp()
        try:
            async with self._transcodes:
                await voice.transcode(self.settings["ffmpeg"], media.path, temp, self.settings["transcode_timeout"])
            sha256, size = await asyncio.to_thread(hash_file, temp)
            stem = os.path.splitext(media.filename or "voice")[0] or "voice"
            try:
                return await self.files.admit(
                    user_id, temp, sha256=sha256, size=size, mimetype="audio/ogg", filename=f"{stem}.ogg",
                    direction=VOICE, source_sha256=media.sha256,
                )
            except QuotaExceeded as exc:
                raise ApiError(413, str(exc)) from None
        finally:
            temp.unlink(missing_ok=True)

    async def link_sent(self, user_id: int, outgoing: Outgoing, message_id: str) -> None:
        """The message ``message_id`` was sent from ``outgoing``: its media is kept here (the
        message's media status becomes ``ready``)."""
        linked = await self.files.link(
            user_id, sha256=outgoing.sha256, size=outgoing.size, mimetype=types.normalize(outgoing.mimetype) or outgoing.mimetype,
            filename=outgoing.filename, direction=SENT, message_id=message_id,
        )
        if linked is not None:
            await store.set_media_status(self.app.db, user_id, message_id, "ready")

    # -- a message's media -------------------------------------------------------------------------
    async def open_for_message(self, user_id: int, message_id: str) -> MediaFile:
        """The media of one of the user's messages: the copy kept here, or downloaded from
        WhatsApp now (one download per message at a time: concurrent callers share it).

        404 no such message or no media; 409 the session is not connected and nothing is kept;
        410 WhatsApp no longer has the file; 413 over ``max_download_bytes`` or the quota; 502
        the download failed.
        """
        message = await store.get_message(self.app.db, user_id, message_id)
        if message is None:
            raise NotFound("No such message.")
        if not message.get("media"):
            raise NotFound("That message has no media.")
        kept = await self.files.for_message(user_id, message_id)
        if kept is not None and await asyncio.to_thread(_exists, kept.path):
            await self.files.touch(kept)
            return _media_file(kept)
        key = (int(user_id), message_id)
        task = self._downloads.get(key)
        if task is None:
            task = asyncio.create_task(self._download(user_id, message_id, message["media"]))
            self._downloads[key] = task
            task.add_done_callback(lambda done: self._downloads.pop(key, None) if self._downloads.get(key) is done else None)
        return await asyncio.shield(task)

    async def _download(self, user_id: int, message_id: str, media: dict[str, Any]) -> MediaFile:
        key = str(user_id)
        state = _state(self.manager.status(key))
        if state != "CONNECTED":
            raise _not_connected(state)
        limit = self.settings["max_download_bytes"]
        too_big = ApiError(413, f"The file is larger than {limit} bytes, the most this server downloads.")
        if isinstance(media.get("size"), int) and media["size"] > limit:
            raise too_big
        temp = self.files.new_temp()
        try:
            try:
                info = await self.manager.download_media(key, message_id, temp, max_bytes=limit)
            except NotConnected:
                raise _not_connected(_state(self.manager.status(key))) from None
            except MediaExpired:
                await store.set_media_status(self.app.db, user_id, message_id, "expired")
                raise ApiError(410, "WhatsApp no longer has this file.", code="gone") from None
            except MessageNotFound:
                raise NotFound("WhatsApp no longer has this message.") from None
            except MediaTooLarge:
                raise too_big from None
            except (MediaError, SessionError) as exc:
                log.warning("user %s: downloading the media of a message failed: %s", user_id, exc)
                await store.set_media_status(self.app.db, user_id, message_id, "error")
                raise ApiError(502, "The file could not be downloaded from WhatsApp; try again later.",
                               code="bad_gateway") from None
            sha256, size = await asyncio.to_thread(hash_file, temp)
            if size > limit:
                raise too_big
            info = info or {}
            mimetype = types.normalize(info.get("mimetype")) or types.normalize(media.get("mimetype"))
            if mimetype is None:
                mimetype = types.guess(await asyncio.to_thread(types.sniff, temp))
            filename = clean_filename(info.get("filename") or media.get("filename"))
            try:
                kept = await self.files.admit(
                    user_id, temp, sha256=sha256, size=size, mimetype=mimetype, filename=filename,
                    direction=DOWNLOAD, message_id=message_id,
                )
            except QuotaExceeded as exc:
                raise ApiError(413, str(exc)) from None
        finally:
            temp.unlink(missing_ok=True)
        await store.set_media_status(self.app.db, user_id, message_id, "ready")
        return _media_file(kept)


def _media_file(media: StoredMedia) -> MediaFile:
    return MediaFile(media.path, media.mimetype, media.filename, media.size, media.sha256)


def _state(raw: dict[str, Any]) -> str:
    return str(getattr(raw["state"], "value", raw["state"]))


def _not_connected(state: str) -> Conflict:
    return Conflict("The WhatsApp session is not connected, and this file is not kept here.", extra={"state": state})


def _fetch_error(exc: OutboundError) -> ApiError:
    message = str(exc)
    if exc.reason in ("refused", "unknown_host"):
        return ApiError(422, message, fields={"url": [message]})
    if exc.reason == "too_large":
        return ApiError(413, message)
    if exc.reason == "timeout":
        return ApiError(504, message, code="gateway_timeout")
    return ApiError(502, message, code="bad_gateway")


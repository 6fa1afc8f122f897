"""Media files on disk and in ``wa_media``: private, content-addressed per user, within a quota.

Layout: ``<data_dir>/media/<user id>/<sha256>`` (folders 0700, files 0600), and
``<data_dir>/media/tmp/`` for files still arriving, on the same file system so that a finished
file moves into place atomically. A row of ``wa_media`` is one use of a file (see
sql/whatsapp/*/0003_media.sql); rows of one user with the same sha256 share one file, which
goes when its last row goes.

The quota counts each user's files once. Copies of messages' media (``download``, ``sent``) can
be fetched again from WhatsApp, so they make room, least recently used first; uploads and the
voice notes made from them are only dropped by the retention sweep (or by their owner).

Everything that changes one user's files holds that user's lock, so a file is never deleted
between the check that it is there and the row that uses it. A row is written before its file
moves into place, so a crash leaves at worst a row without a file (every reader checks that the
file is there) and never a file that the orphan sweep could take from a row about to be written.
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from server.db import Database
from server.files import FILE_MODE, private_dir
from server.timeutil import now_db

from plugins.whatsapp import store

log = logging.getLogger("wamulti.whatsapp.media")

UPLOAD, VOICE, DOWNLOAD, SENT = "upload", "voice", "download", "sent"
COPIES = (DOWNLOAD, SENT)  # WhatsApp holds these too: they make room for new files
TMP_MAX_AGE = 24 * 3600  # seconds a file may stay in tmp/ (an upload still arriving is younger)
ORPHAN_GRACE = 600  # seconds a file without a row is left alone (another process may be adding it)
COLUMNS = "media_id, user_id, sha256, size, mimetype, filename, direction, message_id, source_sha256, used_at"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class StoredMedia:
    media_id: str
    user_id: int
    sha256: str
    size: int
    mimetype: str
    filename: str | None
    direction: str
    message_id: str | None
    path: Path


class QuotaExceeded(Exception):
    """The file does not fit in the user's quota, even once every copy is dropped."""

    def __init__(self, used: int, quota: int, size: int) -> None:
        super().__init__(
            f"Your media storage quota is {quota} bytes and {used} are in use: a file of {size} bytes does not fit."
        )


class MediaStore:
    def __init__(self, db: Database, root: Path, quota_bytes: int) -> None:
        self.db = db
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.quota = quota_bytes
        self._locks: dict[int, asyncio.Lock] = {}

    # -- files -------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the folders, private (blocking). What a crash left in tmp/ goes with the sweep."""
        private_dir(self.root)
        private_dir(self.tmp)

    def path_of(self, user_id: int, sha256: str) -> Path:
        return self.root / str(int(user_id)) / sha256

    def new_temp(self) -> Path:
        """A new empty file in tmp/, 0600 from its first byte."""
        path = self.tmp / secrets.token_hex(16)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        return path

    def lock(self, user_id: int) -> asyncio.Lock:
        return self._locks.setdefault(int(user_id), asyncio.Lock())

    def _place(self, temp: Path, path: Path) -> None:
        private_dir(path.parent)
        if path.exists():
            temp.unlink(missing_ok=True)  # the same bytes are kept already
        else:
            os.chmod(temp, FILE_MODE)
            os.replace(temp, path)

    # -- rows ------------------------------------------------------------------------------------
    def _stored(self, row: dict[str, Any]) -> StoredMedia:
        return StoredMedia(
            media_id=row["media_id"], user_id=int(row["user_id"]), sha256=row["sha256"], size=int(row["size"]),
            mimetype=row["mimetype"], filename=row["filename"], direction=row["direction"],
            message_id=row["message_id"], path=self.path_of(int(row["user_id"]), row["sha256"]),
        )

    async def get(self, user_id: int, media_id: str) -> StoredMedia | None:
        row = await self.db.fetch_one(f"SELECT {COLUMNS} FROM wa_media WHERE media_id = ? AND user_id = ?", (media_id, user_id))
        return self._stored(row) if row else None

    async def for_message(self, user_id: int, message_id: str) -> StoredMedia | None:
        row = await self.db.fetch_one(
            f"SELECT {COLUMNS} FROM wa_media WHERE user_id = ? AND message_id = ?", (user_id, message_id))
        return self._stored(row) if row else None

    async def voice_of(self, user_id: int, source_sha256: str) -> StoredMedia | None:
        row = await self.db.fetch_one(
            f"SELECT {COLUMNS} FROM wa_media WHERE user_id = ? AND direction = ? AND source_sha256 = ? ORDER BY id DESC",
            (user_id, VOICE, source_sha256),
        )
        return self._stored(row) if row else None

    async def touch(self, media: StoredMedia) -> None:
        await self.db.execute("UPDATE wa_media SET used_at = ? WHERE media_id = ?", (now_ms(), media.media_id))

    async def usage(self, user_id: int) -> int:
        """Bytes of the user's files (each file once)."""
        rows = await self.db.fetch_all("SELECT DISTINCT sha256, size FROM wa_media WHERE user_id = ?", (user_id,))
        return sum(int(r["size"]) for r in rows)

    # -- adding ----------------------------------------------------------------------------------
    async def admit(
        self,
        user_id: int,
        temp: Path,
        *,
        sha256: str,
        size: int,
        mimetype: str,
        filename: str | None,
        direction: str,
        message_id: str | None = None,
        source_sha256: str | None = None,
    ) -> StoredMedia:
        """Move a finished temporary file into the user's storage and record it (QuotaExceeded
        when it does not fit; the temporary file is removed either way)."""
        try:
            async with self.lock(user_id):
                await self._make_room(user_id, sha256, size)
                media = await self._insert(user_id, sha256, size, mimetype, filename, direction, message_id, source_sha256)
                try:
                    await asyncio.to_thread(self._place, temp, media.path)
                except BaseException:
                    await self.db.execute("DELETE FROM wa_media WHERE media_id = ?", (media.media_id,))
                    raise
                return media
        finally:
            temp.unlink(missing_ok=True)

    async def link(
        self, user_id: int, *, sha256: str, size: int, mimetype: str, filename: str | None, direction: str, message_id: str
    ) -> StoredMedia | None:
        """Record another use of a stored file (the file a message was sent from); None when the
        file is gone in the meantime."""
        async with self.lock(user_id):
            if not await asyncio.to_thread(self.path_of(user_id, sha256).exists):
                return None
            return await self._insert(user_id, sha256, size, mimetype, filename, direction, message_id, None)

    async def _insert(
        self, user_id: int, sha256: str, size: int, mimetype: str, filename: str | None, direction: str,
        message_id: str | None, source_sha256: str | None,
    ) -> StoredMedia:
        """A row for a file; one per message (a newer copy replaces the older, whose file goes
        when nothing else uses it). The caller holds the user's lock."""
        replaced = None
        if message_id is not None:
            replaced = await self.db.fetch_value(
                "SELECT sha256 FROM wa_media WHERE user_id = ? AND message_id = ?", (user_id, message_id))
            await self.db.execute("DELETE FROM wa_media WHERE user_id = ? AND message_id = ?", (user_id, message_id))
        media_id = secrets.token_urlsafe(24)
        await self.db.execute(
            "INSERT INTO wa_media (media_id, user_id, sha256, size, mimetype, filename, direction, message_id,"
            " source_sha256, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (media_id, user_id, sha256, size, mimetype, filename, direction, message_id, source_sha256, now_db(), now_ms()),
        )
        if replaced and replaced != sha256:
            await self._unlink_unused(user_id, replaced)
        return StoredMedia(media_id, user_id, sha256, size, mimetype, filename, direction, message_id,
                           self.path_of(user_id, sha256))

    async def _make_room(self, user_id: int, sha256: str, size: int) -> None:
        rows = await self.db.fetch_all("SELECT sha256, size, direction, used_at FROM wa_media WHERE user_id = ?", (user_id,))
        files: dict[str, dict[str, Any]] = {}
        for r in rows:
            entry = files.setdefault(r["sha256"], {"size": int(r["size"]), "copy": True, "used": 0})
            entry["copy"] = entry["copy"] and r["direction"] in COPIES
            entry["used"] = max(entry["used"], int(r["used_at"]))
        if sha256 in files:
            return  # the same bytes are kept already: no more room needed
        used = sum(f["size"] for f in files.values())
        excess = used + size - self.quota
        if excess <= 0:
            return
        copies = sorted(((f["used"], sha) for sha, f in files.items() if f["copy"]))
        if sum(files[sha]["size"] for _, sha in copies) < excess:
            raise QuotaExceeded(used, self.quota, size)
        for _, sha in copies:
            if excess <= 0:
                break
            log.info("user %s: dropping a media copy of %d bytes to make room", user_id, files[sha]["size"])
            await self._drop(user_id, "sha256 = ?", [sha])
            excess -= files[sha]["size"]

    # -- removing ------------------------------------------------------------------------------------
    async def _drop(self, user_id: int, where: str, params: Iterable[Any]) -> int:
        """Delete the user's rows matching ``where``, then the files no row uses any more, and mark
        the messages whose copy went as ``remote``. The caller holds the user's lock."""
        params = [user_id, *params]
        rows = await self.db.fetch_all(f"SELECT sha256, message_id FROM wa_media WHERE user_id = ? AND {where}", params)
        if not rows:
            return 0
        await self.db.execute(f"DELETE FROM wa_media WHERE user_id = ? AND {where}", params)
        for sha in {r["sha256"] for r in rows}:
            await self._unlink_unused(user_id, sha)
        for message_id in {r["message_id"] for r in rows if r["message_id"]}:
            await store.set_media_status(self.db, user_id, message_id, "remote")
        return len(rows)

    async def _unlink_unused(self, user_id: int, sha256: str) -> None:
        left = await self.db.fetch_value("SELECT COUNT(*) FROM wa_media WHERE user_id = ? AND sha256 = ?", (user_id, sha256))
        if not left:
            await asyncio.to_thread(self.path_of(user_id, sha256).unlink, missing_ok=True)

    async def delete(self, user_id: int, media_id: str) -> bool:
        async with self.lock(user_id):
            return bool(await self._drop(user_id, "media_id = ?", [media_id]))

    async def delete_for_message(self, user_id: int, message_id: str) -> bool:
        async with self.lock(user_id):
            return bool(await self._drop(user_id, "message_id = ?", [message_id]))

    async def forget_user(self, user_id: int) -> None:
        """Every file and row of the user (a deleted user, a cleared session)."""
        async with self.lock(user_id):
            await self._drop(user_id, "1 = 1", [])
            await asyncio.to_thread(shutil.rmtree, self.root / str(int(user_id)), True)
        self._locks.pop(int(user_id), None)

    async def sweep(self, retention_seconds: float) -> int:
        """Drop what was not used for ``retention_seconds``, files no row uses, and stale
        temporary files; the number of rows dropped."""
        cutoff = now_ms() - int(retention_seconds * 1000)
        stale = await self.db.fetch_all("SELECT DISTINCT user_id FROM wa_media WHERE used_at < ?", (cutoff,))
        dropped = 0
        for row in stale:
            user_id = int(row["user_id"])
            async with self.lock(user_id):
                dropped += await self._drop(user_id, "used_at < ?", [cutoff])
        await self._remove_orphans()
        return dropped

    async def _remove_orphans(self) -> None:
        folders = await asyncio.to_thread(lambda: [p for p in self.root.iterdir() if p.name.isdigit() and p.is_dir()])
        for folder in folders:
            user_id = int(folder.name)
            async with self.lock(user_id):
                rows = await self.db.fetch_all("SELECT DISTINCT sha256 FROM wa_media WHERE user_id = ?", (user_id,))
                await asyncio.to_thread(_remove_unused, folder, {r["sha256"] for r in rows}, time.time() - ORPHAN_GRACE)
        await asyncio.to_thread(_remove_old, self.tmp, time.time() - TMP_MAX_AGE)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _remove_unused(folder: Path, used: set[str], before: float) -> None:
    """Files of a user's folder that no row uses (left by a crash between a row's deletion and its
    file's), once they are older than ``before``."""
    for entry in folder.iterdir():
        try:
            if entry.name not in used and entry.stat().st_mtime < before:
                _remove(entry)
        except FileNotFoundError:
            continue
    if not used and not any(folder.iterdir()):
        try:
            folder.rmdir()
        except OSError:
            pass


def _remove_old(folder: Path, before: float) -> None:
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < before:
                _remove(entry)
        except FileNotFoundError:
            continue

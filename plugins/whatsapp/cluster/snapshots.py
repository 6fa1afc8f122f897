"""Portable logins: a session's login, as whatsapp-web.js's RemoteAuth keeps it, in the database.

A login is what the browser profile keeps under ``Default/IndexedDB`` and ``Default/Local
Storage``. A snapshot is those two folders as a tar, compressed with LZMA, refused past
``cluster.snapshot_max_bytes``, and encrypted with Fernet (AES-128-CBC with an HMAC-SHA256, from
the ``cryptography`` package) under ``cluster.snapshot_key``. It is a secret: it never appears
in an API answer or a log line (only its size and version do).

Only the lease holder writes a snapshot (the row keeps the highest epoch: a stale owner's write
changes nothing) and only the lease holder restores one, before its browser starts. A marker
file in the profile names the snapshot it came from or went to, so a node restores only when the
database holds a newer login than its disk.
"""
from __future__ import annotations

import io
import lzma
import tarfile
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from server.db import IntegrityError
from server.timeutil import now_db

PARTS = ("Default/IndexedDB", "Default/Local Storage")
MARKER = ".wamulti-snapshot"
SKIP = {"LOCK"}  # LevelDB's lock file: a restored profile makes its own


class SnapshotTooLarge(Exception):
    pass


def pack(profile: Path, max_bytes: int) -> bytes:
    """The login folders of ``profile`` as a compressed tar. Files are read whole before they are
    added, so a file the running browser appends to is taken as it was at that moment."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for part in PARTS:
            root = profile / part
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                if not path.is_file() or path.is_symlink() or path.name in SKIP:
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue  # deleted while we walked: LevelDB compacted it away
                info = tarfile.TarInfo(str(path.relative_to(profile)))
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
                if buffer.tell() > max_bytes * 20:
                    raise SnapshotTooLarge(f"the login folders pass {max_bytes * 20} bytes")
    packed = lzma.compress(buffer.getvalue(), preset=6)
    if len(packed) > max_bytes:
        raise SnapshotTooLarge(f"the compressed login is {len(packed)} bytes, over snapshot_max_bytes ({max_bytes})")
    return packed


def unpack(packed: bytes, profile: Path) -> None:
    """Replace the login folders of ``profile`` with the snapshot's (tarfile's ``data`` filter
    refuses absolute paths, ``..``, links and devices)."""
    raw = lzma.decompress(packed)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r") as tar:
        members = tar.getmembers()
        if any(not any(m.name == p or m.name.startswith(p + "/") for p in PARTS) for m in members):
            raise ValueError("the snapshot holds files outside the login folders")
        for part in PARTS:
            _remove_tree(profile / part)
        profile.mkdir(parents=True, exist_ok=True)
        tar.extractall(profile, members=members, filter="data")


def _remove_tree(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def read_marker(profile: Path) -> str | None:
    try:
        return (profile / MARKER).read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def write_marker(profile: Path, version: str) -> None:
    profile.mkdir(parents=True, exist_ok=True)
    (profile / MARKER).write_text(version, encoding="ascii")


class SnapshotStore:
    """Encrypted snapshots in ``wa_session_snapshots``, one row per user."""

    def __init__(self, db: Any, key: str, max_bytes: int) -> None:
        self.db = db
        self.fernet = Fernet(key.encode())
        self.max_bytes = max_bytes

    async def save(self, user_id: int, epoch: int, node: str, packed: bytes) -> str | None:
        """Store ``packed`` for the holder of ``epoch``; its version, or None when a newer owner
        (a higher epoch) has written one already."""
        data = self.fernet.encrypt(packed).decode("ascii")  # a Fernet token is base64 text
        version = uuid.uuid4().hex
        row = (epoch, node, version, len(data), data, now_db(), user_id, epoch)
        result = await self.db.execute(
            "UPDATE wa_session_snapshots SET epoch = ?, node = ?, version = ?, size = ?, data = ?, created_at = ? "
            "WHERE user_id = ? AND epoch <= ?", row)
        if result.rowcount:
            return version
        try:
            await self.db.execute(
                "INSERT INTO wa_session_snapshots (epoch, node, version, size, data, created_at, user_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", row[:7])
        except IntegrityError:
            return None  # a row with a higher epoch exists (or a user deleted meanwhile)
        return version

    async def version(self, user_id: int) -> str | None:
        return await self.db.fetch_value("SELECT version FROM wa_session_snapshots WHERE user_id = ?", (user_id,))

    async def load(self, user_id: int) -> tuple[str, bytes] | None:
        row = await self.db.fetch_one("SELECT version, data FROM wa_session_snapshots WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        try:
            token = row["data"]
            return str(row["version"]), self.fernet.decrypt(token.encode("ascii") if isinstance(token, str) else bytes(token))
        except InvalidToken:
            raise ValueError("the snapshot does not decrypt with cluster.snapshot_key") from None

    async def forget(self, user_id: int) -> None:
        await self.db.execute("DELETE FROM wa_session_snapshots WHERE user_id = ?", (user_id,))

    async def info(self, user_id: int) -> dict[str, Any] | None:
        return await self.db.fetch_one(
            "SELECT epoch, node, version, size, created_at FROM wa_session_snapshots WHERE user_id = ?", (user_id,))

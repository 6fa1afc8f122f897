"""The embedded backend: one aiosqlite connection, serialised by a lock.

One connection is shared by every request, so a transaction must not let other
statements slip into it: every statement and every transaction takes the lock.
"""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator

import aiosqlite

from server.db import Database, DatabaseUnavailable, IntegrityError, Params, Queries, Result
from server.files import narrow, private_file


def _translate(exc: sqlite3.Error) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(str(exc))
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return DatabaseUnavailable(str(exc))
    return exc


class _Conn(Queries):
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        try:
            # One trip to aiosqlite's thread instead of three (execute, fetchall, close).
            rows = await self._conn.execute_fetchall(sql, tuple(params))
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        return [dict(row) for row in rows]

    async def execute(self, sql: str, params: Params = ()) -> Result:
        try:
            async with self._conn.execute(sql, tuple(params)) as cursor:
                return Result(cursor.rowcount, cursor.lastrowid)
        except sqlite3.Error as exc:
            raise _translate(exc) from exc


class SQLiteDatabase(Database):
    backend = "sqlite"
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if self.path != ":memory:":
            # SQLite creates the -wal and -shm files with the database file's mode: a private
            # database file keeps all three private.
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            private_file(self.path)
            for suffix in ("-wal", "-shm", "-journal"):
                narrow(self.path + suffix)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in ("foreign_keys = ON", "journal_mode = WAL", "busy_timeout = 5000", "synchronous = NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        # Unicode lowercase for case-insensitive search (server.pagination.contains_folded):
        # SQLite's own lower() and LIKE fold ASCII only.
        await conn.create_function("ulower", 1, _unicode_lower, deterministic=True)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def _live(self) -> _Conn:
        if self._conn is None:
            raise DatabaseUnavailable("the database is closed")
        return _Conn(self._conn)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        async with self._lock:
            return await self._live().fetch_all(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> Result:
        async with self._lock:
            return await self._live().execute(sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._lock:
            conn = self._live()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    def pool_info(self) -> dict[str, Any]:
        return {"size": 1, "free": 0 if self._lock.locked() else 1, "maxsize": 1}


def _unicode_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text

"""One small async database interface, two backends.

SQL is written once with ``?`` placeholders; each backend adapts it. Rows come
back as plain dicts. Dialect-specific SQL lives in migrations, plus
:meth:`Database.upsert`, which builds the one statement that differs.
"""
from __future__ import annotations

import abc
import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import Any, AsyncIterator, Sequence
from urllib.parse import unquote, urlparse

Params = Sequence[Any]


class DatabaseError(Exception):
    """Base of the errors the backends raise instead of driver errors."""


class DatabaseUnavailable(DatabaseError):
    """The database does not answer (stopped, unreachable, too busy)."""


class Deadlock(DatabaseUnavailable):
    """The database picked this statement's transaction as a deadlock victim (MySQL 1213).

    Nothing was changed and trying again is safe: single statements are retried by the
    backend; a transaction is retried by its caller (see :func:`retry_deadlocks`).
    """


DEADLOCK_RETRIES = 3


async def retry_deadlocks(attempt: Any, retries: int = DEADLOCK_RETRIES) -> Any:
    """Await ``attempt()`` again when it was a deadlock victim, a few times, after a short random pause."""
    for remaining in range(retries, -1, -1):
        try:
            return await attempt()
        except Deadlock:
            if not remaining:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05))


class IntegrityError(DatabaseError):
    """A unique or foreign key constraint refused the statement."""


@dataclass(frozen=True)
class Result:
    rowcount: int
    lastrowid: int | None


class Queries(abc.ABC):
    """What both a database and one of its transactions can do."""

    @abc.abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> Result: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else next(iter(row.values()))

    dialect: str = ""

    @property
    def for_update(self) -> str:
        """`` FOR UPDATE`` on MySQL, to end a SELECT that locks the rows it reads until the
        transaction ends; nothing on SQLite, which runs one writing transaction at a time."""
        return " FOR UPDATE" if self.dialect == "mysql" else ""

    async def upsert(
        self,
        table: str,
        values: dict[str, Any],
        keys: Sequence[str],
        update: Sequence[str],
        keep_max: Sequence[str] = (),
        fill: Sequence[str] = (),
        unless_behind: Sequence[str] = (),
    ) -> Result:
        """Insert a row, or update the row with the same ``keys``.

        ``update`` columns take the new value; ``keep_max`` columns keep the larger of
        the two, so an event that arrives late never moves a counter (an ack) backwards;
        ``fill`` columns take the new value unless it is NULL (a later report that does not know
        a value keeps the one stored). ``unless_behind`` names ``keep_max`` columns (flags such as
        "edited") that mark what a copy has seen: when the new row is behind the stored one on any
        of them, the ``update`` columns keep their stored values (a late copy of a message from
        before its edit does not bring the old text back).
        """
        cols = list(values)
        placeholders = ", ".join("?" for _ in cols)
        head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})"
        if self.dialect == "mysql":
            # Assignments run left to right: the update columns come first, so the flags they test
            # still hold the stored values.
            current = " AND ".join(f"VALUES({c}) >= {c}" for c in unless_behind)
            updated = [f"{c} = IF({current}, VALUES({c}), {c})" if current else f"{c} = VALUES({c})" for c in update]
            sets = (updated + [f"{c} = GREATEST({c}, VALUES({c}))" for c in keep_max]
                    + [f"{c} = COALESCE(VALUES({c}), {c})" for c in fill])
            sql = f"{head} ON DUPLICATE KEY UPDATE {', '.join(sets) or f'{keys[0]} = {keys[0]}'}"
        else:
            current = " AND ".join(f"excluded.{c} >= {c}" for c in unless_behind)
            updated = [f"{c} = CASE WHEN {current} THEN excluded.{c} ELSE {c} END" if current else f"{c} = excluded.{c}"
                       for c in update]
            sets = (updated + [f"{c} = max({c}, excluded.{c})" for c in keep_max]
                    + [f"{c} = COALESCE(excluded.{c}, {c})" for c in fill])
            tail = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
            sql = f"{head} ON CONFLICT ({', '.join(keys)}) {tail}"
        return await self.execute(sql, [values[c] for c in cols])


class Database(Queries):
    backend: str = ""

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Queries]: ...

    @abc.abstractmethod
    def pool_info(self) -> dict[str, Any]: ...

    async def ping(self) -> None:
        await self.fetch_value("SELECT 1")

    @contextlib.asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[None]:
        """Held while migrations run, so two processes never apply the same file."""
        yield


URL_FORMS = "sqlite:///relative/path.db, sqlite:////absolute/path.db or mysql://user:password@host:3306/database"


def parse_url(url: str) -> dict[str, Any]:
    """Split a ``sqlite:///path`` or ``mysql://user:pass@host:port/db`` URL.

    ValueError, with a message that shows the accepted forms, for anything else.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db")
        return {"backend": "sqlite", "path": path}
    if parsed.scheme == "mysql":
        if not parsed.hostname:
            raise ValueError("a MySQL URL is mysql://user:password@host:3306/database")
        if not parsed.path.strip("/"):
            raise ValueError("the MySQL URL names no database: add it, as in mysql://user:password@host:3306/wamulti")
        return {
            "backend": "mysql",
            "host": parsed.hostname,
            "port": parsed.port or 3306,
            "user": unquote(parsed.username or "root"),
            "password": unquote(parsed.password or ""),
            "db": parsed.path.strip("/"),
        }
    scheme = f"{parsed.scheme}://" if parsed.scheme else "a URL without a scheme"
    raise ValueError(f"{scheme} is not supported: use {URL_FORMS}")


def redact_url(url: str) -> str:
    """The URL without its password, for logs and the admin stats."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


def open_database(
    url: str, *, pool_size: int = 10, connect_timeout: float = 5.0, query_timeout: float | None = 30.0
) -> Database:
    """A Database for ``url``, not yet connected. ``query_timeout`` bounds each MySQL statement."""
    info = parse_url(url)
    if info["backend"] == "sqlite":
        from server.db.sqlite import SQLiteDatabase

        return SQLiteDatabase(info["path"])
    from server.db.mysql import MySQLDatabase

    return MySQLDatabase(info, pool_size=pool_size, connect_timeout=connect_timeout, query_timeout=query_timeout)

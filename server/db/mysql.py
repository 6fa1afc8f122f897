"""The production backend: an aiomysql connection pool (MySQL 8, MariaDB 10.6+)."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Sequence

import aiomysql
import pymysql
from pymysql.constants import FIELD_TYPE
from pymysql.converters import convert_datetime, decoders

from server.db import Database, DatabaseUnavailable, Deadlock, IntegrityError, Params, Queries, Result, retry_deadlocks

# Client error codes that mean "the server is gone", not "the query is wrong".
_GONE = {2002, 2003, 2005, 2006, 2013, 2014, 2045, 2055, 1040, 1053, 1205}


_DEADLOCK = 1213


def _adapt(sql: str) -> str:
    """Turn our ``?`` placeholders into pymysql's ``%s`` (escaping literal ``%``)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _datetime(text: str) -> Any:
    """A DATETIME or TIMESTAMP value as PyMySQL's ``convert_datetime`` gives it, faster.

    PyMySQL parses each one with a regular expression (about 9 µs; a product row has two);
    ``datetime.fromisoformat`` reads MySQL's own form, ``YYYY-MM-DD HH:MM:SS[.ffffff]``, in C.
    Anything else (a zero date, a date MySQL would not write) goes to PyMySQL's converter, which
    answers as it always did (the text itself when it is no valid time)."""
    if len(text) in (19, 26) and text[10] == " ":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return convert_datetime(text)


# PyMySQL's decoders, with the faster DATETIME/TIMESTAMP one.
_DECODERS = {**decoders, FIELD_TYPE.DATETIME: _datetime, FIELD_TYPE.TIMESTAMP: _datetime}


def _as_dicts(description: Sequence[Sequence[Any]] | None, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Tuple rows as dicts, the column names read once per result (aiomysql's DictCursor makes
    them again for every row). A name selected twice (a join's two ``id`` columns) keeps its first
    column's value, as the SQLite backend's rows do."""
    if not rows or not description:
        return []
    names = [column[0] for column in description]
    if len(set(names)) == len(names):
        return [dict(zip(names, row)) for row in rows]
    first = [i for i, name in enumerate(names) if names.index(name) == i]
    return [{names[i]: row[i] for i in first} for row in rows]


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, pymysql.err.IntegrityError):
        return IntegrityError(str(exc.args[1] if len(exc.args) > 1 else exc))
    if isinstance(exc, (pymysql.err.OperationalError, pymysql.err.InterfaceError)):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code == _DEADLOCK:
            return Deadlock("deadlock; the statement may be retried")
        if code is None or code in _GONE:
            return DatabaseUnavailable("the database does not answer")
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)):
        return DatabaseUnavailable("the database does not answer")
    return exc


class _Conn(Queries):
    """One connection; every statement gives up after ``timeout`` seconds (None: never).

    A server that stops cleanly closes its sockets and the driver notices at once; a server that
    hangs, or a host cut off the network, leaves them open and silent, and without a bound every
    request would wait for it forever. A connection whose statement timed out is closed (its
    answer may still arrive), never given back to the pool.
    """

    dialect = "mysql"

    def __init__(
        self, conn: aiomysql.Connection, timeout: float | None = None, on_timeout: Callable[[], None] | None = None
    ) -> None:
        self._conn = conn
        self._timeout = timeout
        self._on_timeout = on_timeout

    async def _bounded(self, work: Any) -> Any:
        if self._timeout is None:
            return await work
        try:
            return await asyncio.wait_for(work, self._timeout)
        except asyncio.TimeoutError:
            self._conn.close()
            if self._on_timeout is not None:
                self._on_timeout()
            raise DatabaseUnavailable(f"the database did not answer within {self._timeout:g}s") from None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            async with self._conn.cursor() as cur:
                await cur.execute(_adapt(sql), tuple(params))
                return _as_dicts(cur.description, await cur.fetchall())

        return await self._bounded(run())

    async def execute(self, sql: str, params: Params = ()) -> Result:
        async def run() -> Result:
            async with self._conn.cursor() as cur:
                await cur.execute(_adapt(sql), tuple(params))
                return Result(cur.rowcount, cur.lastrowid)

        return await self._bounded(run())


class MySQLDatabase(Database):
    backend = "mysql"
    dialect = "mysql"

    def __init__(
        self, info: dict[str, Any], *, pool_size: int = 10, connect_timeout: float = 5.0, query_timeout: float | None = 30.0
    ) -> None:
        self._info = info
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._query_timeout = query_timeout
        self._migrating = False  # migrations (long DDL) run without the statement timeout
        self._pool: aiomysql.Pool | None = None
        # Statements, and waits for a pooled connection, that ran out of query_timeout since
        # start: read by the metrics plugin (wamulti_db_query_timeouts).
        self.query_timeouts = 0

    def _count_timeout(self) -> None:
        self.query_timeouts += 1

    @property
    def _timeout(self) -> float | None:
        return None if self._migrating else self._query_timeout

    async def connect(self) -> None:
        try:
            self._pool = await aiomysql.create_pool(
                host=self._info["host"],
                port=self._info["port"],
                user=self._info["user"],
                password=self._info["password"],
                db=self._info["db"],
                minsize=1,
                maxsize=self._pool_size,
                autocommit=True,
                charset="utf8mb4",
                connect_timeout=self._connect_timeout,
                conv=_DECODERS,
                pool_recycle=3600,
                init_command="SET time_zone = '+00:00'",
            )
        except Exception as exc:  # noqa: BLE001 - every driver error means the same here
            raise DatabaseUnavailable(f"cannot connect to MySQL at {self._info['host']}:{self._info['port']}: {exc}") from None

    async def close(self, grace: float = 5.0) -> None:
        """Close the pool; connections still in use after ``grace`` seconds are cut."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()
            try:
                await asyncio.wait_for(pool.wait_closed(), grace)
            except asyncio.TimeoutError:
                pool.terminate()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pool.wait_closed(), grace)

    @contextlib.asynccontextmanager
    async def _acquire(self) -> AsyncIterator[aiomysql.Connection]:
        if self._pool is None:
            raise DatabaseUnavailable("the database is closed")
        pool = self._pool

        async def acquire() -> aiomysql.Connection:
            return await pool.acquire()

        try:
            # The driver bounds the TCP connect only, not the handshake that follows, and a
            # connection being made holds the pool's lock: bound the whole wait.
            timeout = self._timeout
            conn = await (asyncio.wait_for(acquire(), timeout) if timeout is not None else acquire())
        except asyncio.TimeoutError:
            self._count_timeout()
            raise DatabaseUnavailable(f"no database connection within {timeout:g}s") from None
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc) from exc
        try:
            yield conn
        except Exception as exc:
            translated = _translate(exc)
            if isinstance(translated, DatabaseUnavailable):
                conn.close()  # a broken connection must not go back into the pool
            if translated is exc:
                raise
            raise translated from exc
        finally:
            self._pool.release(conn)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        async def attempt() -> list[dict[str, Any]]:
            async with self._acquire() as conn:
                return await _Conn(conn, self._timeout, self._count_timeout).fetch_all(sql, params)

        return await retry_deadlocks(attempt)

    async def execute(self, sql: str, params: Params = ()) -> Result:
        # A single autocommitted statement that lost a deadlock changed nothing: run it again.
        async def attempt() -> Result:
            async with self._acquire() as conn:
                return await _Conn(conn, self._timeout, self._count_timeout).execute(sql, params)

        return await retry_deadlocks(attempt)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._acquire() as conn:
            await conn.begin()
            try:
                yield _Conn(conn, self._timeout, self._count_timeout)
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.rollback()
                raise
            else:
                await conn.commit()

    @contextlib.asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[None]:
        async with self._acquire() as conn:
            got = await _Conn(conn).fetch_value("SELECT GET_LOCK('wamulti_migrations', 60)")
            if got != 1:
                raise DatabaseUnavailable("another process holds the migration lock")
            self._migrating = True
            try:
                yield
            finally:
                self._migrating = False
                await _Conn(conn).fetch_value("SELECT RELEASE_LOCK('wamulti_migrations')")

    def pool_info(self) -> dict[str, Any]:
        if self._pool is None:
            return {"size": 0, "free": 0, "maxsize": self._pool_size}
        return {"size": self._pool.size, "free": self._pool.freesize, "maxsize": self._pool.maxsize}

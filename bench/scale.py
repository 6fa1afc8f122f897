"""Part of figure 1: the scale of work. REST CPU per request of a user's chat list and of a chat's
message page, with 10^4 and then 10^6 messages stored: both must stay flat, since a page of 50 is
the same work whatever lies behind it.

The messages are seeded straight into the bench server's database (``executemany`` through the
database's own driver, in batches), not through WhatsApp: 10^6 messages through the simulator would
take hours. The server runs meanwhile and is idle; its reads see the rows once they are committed.
The query plans of every statement the two requests run are read with ``EXPLAIN QUERY PLAN``
(SQLite) and ``EXPLAIN`` (MariaDB) at each size and reported beside the figures.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from typing import Any, Iterator
from urllib.parse import quote, urlparse

from bench.common import HOST, Context, bearer, describe_error, expect, mysql_database, register, start_wamulti
from bench.load import CpuMeter, Load, build_request, median
from plugins.whatsapp.store.chats import CHAT_COLUMNS
from plugins.whatsapp.store.messages import COLUMNS

HOW = (
    "One `wamulti serve` process per database (whatsapp plugin on, no session started) pinned to the server core; "
    "one user with {chats} chats. Messages are inserted straight into the server's database with executemany "
    "(batches of {batch:,}) until {steps} are stored; one chat (the one measured) holds a tenth of them, the other "
    "{others} share the rest, every chat's row names its newest message. At each size: `GET "
    "/api/whatsapp/chats/:userId` and `GET /api/whatsapp/chats/:userId/:chatId/messages` (default limit 50, the "
    "user's bearer token), each by {connections} keep-alive connections in a closed loop, {warmup:g} s warm-up then "
    "{rounds} rounds of {seconds:g} s; reported: the median server CPU µs per request (and req/s; on MariaDB also "
    "the mariadbd process's CPU per request, which other clients of that shared server inflate). Flat means the "
    "10^6 figure is close to the 10^4 one. The plans are those of every statement the two requests run, read "
    "with EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (MariaDB) right after the measurement, each also timed from the "
    "bench (median of 5 runs, driver included)."
)

FAR_PAST = 1_600_000_000  # the first message's unix time; each next message is a second later


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"steps": [1_000, 5_000], "chats": 20, "batch": 5_000, "connections": 4, "warmup": 0.3, "rounds": 2,
                "seconds": 0.5}
    return {"steps": [10_000, 1_000_000], "chats": 200, "batch": 20_000, "connections": 8, "warmup": 1.0,
            "rounds": 3, "seconds": 2.0}


def chat_id(index: int) -> str:
    return f"7999{index:07d}@c.us"


def chat_of(n: int, chats: int) -> int:
    """The chat of message ``n``: every tenth message is chat 0's (the measured one)."""
    return 0 if n % 10 == 0 else 1 + n % (chats - 1)


def message_row(user_id: int, n: int, chats: int) -> tuple[Any, ...]:
    mine = n % 3 == 0
    return (user_id, f"bench_{n:09d}", chat_id(chat_of(n, chats)), "" if mine else chat_id(chat_of(n, chats)),
            chat_id(chat_of(n, chats)) if mine else "", f"Message {n}: something about the weather and plans.",
            "chat", 1 if mine else 0, 3 if mine else 0, FAR_PAST + n)


def last_message(n: int, chats: int) -> str:
    """A chat's ``last_message`` column: the client dict of its newest message."""
    row = message_row(0, n, chats)
    return json.dumps({"id": row[1], "chatId": row[2], "from": row[3], "to": row[4], "body": row[5], "type": "chat",
                       "fromMe": bool(row[7]), "ack": row[8], "timestamp": row[9]})


class Seeder:
    """Rows straight into the server's database, through sqlite3 or PyMySQL."""

    MESSAGE_COLUMNS = "user_id, wa_id, chat_id, from_id, to_id, body, type, from_me, ack, timestamp"

    def __init__(self, db_url: str) -> None:
        self.dialect = "sqlite" if db_url.startswith("sqlite:") else "mysql"
        if self.dialect == "sqlite":
            self.conn: Any = sqlite3.connect(db_url[len("sqlite:///"):], isolation_level=None, timeout=30)
            self.mark = "?"
        else:
            import pymysql

            parsed = urlparse(db_url)
            self.conn = pymysql.connect(host=parsed.hostname, port=parsed.port or 3306, user=parsed.username or "root",
                                        password=parsed.password or "", database=parsed.path.strip("/"),
                                        charset="utf8mb4", autocommit=True)
            self.mark = "%s"
        self.stored = 0

    def close(self) -> None:
        self.conn.close()

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        sql = sql.replace("?", self.mark)
        cur = self.conn.cursor()
        try:
            if self.dialect == "sqlite":
                cur.execute("BEGIN")
                cur.executemany(sql, rows)
                cur.execute("COMMIT")
            else:
                cur.executemany(sql, rows)  # PyMySQL sends these as multi-row INSERTs
        finally:
            cur.close()

    def add_chats(self, user_id: int, chats: int) -> None:
        self._many("INSERT INTO chats (user_id, wa_id, page_id, name, is_group, unread_count, timestamp, last_message)"
                   " VALUES (?, ?, ?, ?, 0, 0, 0, NULL)",
                   [(user_id, chat_id(c), chat_id(c), f"Contact {c}") for c in range(chats)])

    def add_messages(self, user_id: int, upto: int, chats: int, batch: int) -> None:
        """Messages ``stored .. upto-1``, then each chat's row points at its newest message."""
        sql = f"INSERT INTO messages ({self.MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 10)})"
        for start in range(self.stored, upto, batch):
            self._many(sql, [message_row(user_id, n, chats) for n in range(start, min(upto, start + batch))])
        self.stored = upto
        newest: dict[int, int] = {}
        for n in range(max(0, upto - 10 * chats), upto):
            newest[chat_of(n, chats)] = n
        self._many("UPDATE chats SET timestamp = ?, last_message = ? WHERE user_id = ? AND wa_id = ?",
                   [(FAR_PAST + n, last_message(n, chats), user_id, chat_id(c)) for c, n in newest.items()])

    def time_ms(self, sql: str, params: tuple[Any, ...], repeat: int = 5) -> float:
        """The median time of ``sql`` run by the bench itself, in ms (driver overhead included)."""
        sql = sql.replace("?", self.mark)
        took = []
        cur = self.conn.cursor()
        try:
            for _ in range(repeat):
                started = time.perf_counter()
                cur.execute(sql, params)
                cur.fetchall()
                took.append(time.perf_counter() - started)
        finally:
            cur.close()
        return round(median(took) * 1000, 3)

    def plan(self, sql: str, params: tuple[Any, ...]) -> list[str]:
        """How the database runs ``sql``: EXPLAIN QUERY PLAN lines, or EXPLAIN rows of MariaDB."""
        cur = self.conn.cursor()
        try:
            if self.dialect == "sqlite":
                cur.execute("EXPLAIN QUERY PLAN " + sql, params)
                return [row[3] for row in cur.fetchall()]
            cur.execute("EXPLAIN " + sql.replace("?", "%s"), params)
            names = [d[0] for d in cur.description]
            out = []
            for row in cur.fetchall():
                r = dict(zip(names, row))
                out.append(f"{r['table']}: type={r['type']} key={r['key']} rows={r['rows']} extra={r['Extra'] or ''}")
            return out
        finally:
            cur.close()


def statements(user_id: int, chat: str) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Every statement of the two requests that reads chats, messages or reactions, as
    plugins/whatsapp/store runs them (the 50 ids of a page stand for the IN lists)."""
    ids = tuple(f"bench_{n:09d}" for n in range(50))
    marks = ", ".join("?" for _ in ids)
    return {
        "chats: count": ("SELECT COUNT(*) FROM chats WHERE user_id = ?", (user_id,)),
        "chats: page": (f"SELECT {CHAT_COLUMNS} FROM chats WHERE user_id = ? ORDER BY timestamp DESC, id DESC"
                        " LIMIT ? OFFSET ?", (user_id, 50, 0)),
        "chats: their last messages": (f"SELECT {COLUMNS} FROM messages WHERE user_id = ? AND wa_id IN ({marks})",
                                       (user_id, *ids)),
        "messages: count": ("SELECT messages FROM chat_message_counts WHERE user_id = ? AND chat_id = ?", (user_id, chat)),
        "messages: count by COUNT(*)": ("SELECT COUNT(*) FROM messages WHERE user_id = ? AND chat_id = ?", (user_id, chat)),
        "messages: page": (f"SELECT {COLUMNS} FROM messages WHERE user_id = ? AND chat_id = ?"
                           " ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?", (user_id, chat, 50, 0)),
        "messages: reactions": ("SELECT message_id, sender, emoji, from_me, timestamp FROM message_reactions"
                                f" WHERE user_id = ? AND message_id IN ({marks}) ORDER BY timestamp, sender",
                                (user_id, *ids)),
    }


def database_server_pid() -> int | None:
    """MariaDB's server process (its CPU is not the wamulti process's), when it runs here."""
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/comm", "rb") as handle:
                if handle.read().strip() in (b"mariadbd", b"mysqld"):
                    return int(name)
        except OSError:
            continue
    return None


async def measure(port: int, pid: int, path: str, token: str, size: dict[str, Any],
                  database_pid: int | None = None) -> dict[str, Any]:
    load = Load(HOST, port, build_request("GET", path, f"{HOST}:{port}", headers=bearer(token)),
                connections=size["connections"], server_pids=[pid])
    await load.open()
    try:
        await load.round(size["warmup"])
        rounds, database_us = [], []
        for _ in range(size["rounds"]):
            meter = CpuMeter({"database": [database_pid] if database_pid else []})
            rounds.append(await load.round(size["seconds"]))
            used = meter.read()
            if database_pid and rounds[-1].requests:
                database_us.append(used["database"] * used["seconds"] / rounds[-1].requests * 1e6)
    finally:
        load.close()
    errors = sum(r.errors for r in rounds)
    if errors or not all(r.requests for r in rounds):
        raise RuntimeError(f"GET {path}: {errors} bad answers ({load.first_error})")
    out = {"server_cpu_us_per_request": round(median([r.server_cpu_us for r in rounds]), 1),
           "rps": round(median([r.rps for r in rounds]), 1),
           "server_waited": median([r.server_waited for r in rounds])}
    if database_us:  # MariaDB serves other clients on this machine too: an upper bound
        out["database_cpu_us_per_request"] = round(median(database_us), 1)
    return out


@contextlib.contextmanager
def database(ctx: Context, backend: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{ctx.workdir / 'scale-sqlite.db'}"
    else:
        with mysql_database() as url:
            yield url


async def run(ctx: Context) -> dict[str, Any]:
    """Both databases; one failing does not stop the other (its error is reported)."""
    size = sizes(ctx.quick)
    results, errors = [], []
    for backend in ("sqlite", "mysql"):
        try:
            results += await measure_backend(ctx, backend, size)
        except Exception as exc:  # noqa: BLE001 - the other backend is still measured
            errors.append(f"{backend}: {describe_error(exc)}")
    words = {**size, "steps": " and ".join(f"{n:,}" for n in size["steps"]), "others": size["chats"] - 1}
    out: dict[str, Any] = {"how": HOW.format(**words), "results": results}
    if errors:
        out["error"] = "; ".join(errors)
    return out


async def measure_backend(ctx: Context, backend: str, size: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    with database(ctx, backend) as url:
        server = start_wamulti(ctx.procs, f"scale-{backend}", url, cores=ctx.cores.server,
                               overrides={"auth": {"bcrypt_rounds": 4}, "whatsapp": {"restore_on_boot": False}})
        seeder = None
        try:
            conn = await server.connect()
            try:
                token, user = await register(conn, "scaleuser")
            finally:
                conn.close()
            uid = int(user["id"])
            seeder = Seeder(url)
            seeder.add_chats(uid, size["chats"])
            measured = chat_id(0)
            paths = {"chat_list": f"/api/whatsapp/chats/{uid}",
                     "message_page": f"/api/whatsapp/chats/{uid}/{quote(measured)}/messages"}
            for step in size["steps"]:
                started = time.monotonic()
                seeder.add_messages(uid, step, size["chats"], size["batch"])
                seeded_s = time.monotonic() - started
                conn = await server.connect()
                try:
                    for path in paths.values():  # the answers are right before anything is timed
                        body = expect(await conn.request("GET", path, headers=bearer(token)), 200, f"GET {path}").json()
                        if body["total"] <= 0 or not body["items"]:
                            raise RuntimeError(f"GET {path} found nothing after seeding: {body}")
                finally:
                    conn.close()
                row: dict[str, Any] = {"database": backend, "stored_messages": step, "chats": size["chats"],
                                       "measured_chat_messages": (step + 9) // 10,  # chat_of(): every tenth
                                       "seed_seconds": round(seeded_s, 1)}
                database_pid = database_server_pid() if backend == "mysql" else None
                for name, path in paths.items():
                    row[name] = await measure(server.port, server.pid, path, token, size, database_pid)
                run = statements(uid, measured)
                row["plans"] = {label: seeder.plan(sql, params) for label, (sql, params) in run.items()}
                row["statement_ms"] = {label: seeder.time_ms(sql, params) for label, (sql, params) in run.items()}
                results.append(row)
        finally:
            if seeder is not None:
                seeder.close()
            ctx.procs.stop(server.proc)
    return results

"""The database interface and migrations, on both backends."""
from __future__ import annotations

import pytest

from server.db import IntegrityError, open_database, parse_url, redact_url
from server.app import migration_sources
from server.db.migrations import migrate, split_statements, sql_folder
from server.plugins import BUILTINS, make_plugin_manager
from server.timeutil import now_db
from tests.support.server import BUILTIN_MIGRATIONS

TABLES = {"users", "products", "articles", "chats", "messages", "wa_sessions", "schema_migrations"}


def every_owner(dialect: str) -> list:
    """The migration folders of the core and every built-in plugin, as the server finds them."""
    return migration_sources(make_plugin_manager(BUILTINS, entry_points=False), dialect)


@pytest.fixture
async def db(db_url):
    database = open_database(db_url)
    await database.connect()
    yield database
    await database.close()


async def _tables(db) -> set[str]:
    if db.dialect == "sqlite":
        rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r["name"] for r in rows}
    rows = await db.fetch_all("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()")
    return {r["name"] for r in rows}


async def _user(db, name: str = "u") -> int:
    now = now_db()
    result = await db.execute(
        "INSERT INTO users (username, password_hash, created_at, updated_at) VALUES (?, 'x', ?, ?)", (name, now, now)
    )
    return result.lastrowid


async def test_migrations_apply_once_and_record_themselves(db):
    sources = every_owner(db.dialect)
    first = await migrate(db, sources)
    assert first == BUILTIN_MIGRATIONS
    assert TABLES <= await _tables(db)
    assert await migrate(db, sources) == []
    rows = await db.fetch_all("SELECT id FROM schema_migrations")
    assert sorted(r["id"] for r in rows) == sorted(BUILTIN_MIGRATIONS)


async def test_each_owner_creates_only_its_own_tables(db):
    await migrate(db, [("core", sql_folder("core", db.dialect))])
    assert await _tables(db) - {"sqlite_sequence"} == {"users", "schema_migrations"}


async def test_a_plugin_migration_folder_is_applied_after_the_core(db, tmp_path):
    folder = tmp_path / db.dialect
    folder.mkdir()
    (folder / "0001_greetings.sql").write_text("CREATE TABLE greetings (id INTEGER PRIMARY KEY, text VARCHAR(20));\n"
                                               "INSERT INTO greetings (id, text) VALUES (1, 'a;b');\n")
    applied = await migrate(db, [("core", sql_folder("core", db.dialect)), ("hello", folder)])
    assert applied == ["core/0001_initial.sql", "core/0002_canonical_usernames.sql", "hello/0001_greetings.sql"]
    assert await db.fetch_value("SELECT text FROM greetings") == "a;b"


async def test_a_failing_migration_is_not_recorded(db, tmp_path):
    await migrate(db, every_owner(db.dialect))
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "0001_broken.sql").write_text("CREATE TABLE fine (id INTEGER PRIMARY KEY);\nTHIS IS NOT SQL;\n")
    with pytest.raises(Exception):
        await migrate(db, [("broken", folder)])
    ids = {r["id"] for r in await db.fetch_all("SELECT id FROM schema_migrations")}
    assert "broken/0001_broken.sql" not in ids


async def test_deleting_a_user_deletes_their_chats_messages_and_session(db):
    await migrate(db, every_owner(db.dialect))
    keep, gone = await _user(db, "keep"), await _user(db, "gone")
    now = now_db()
    for uid in (keep, gone):
        await db.execute("INSERT INTO chats (user_id, wa_id) VALUES (?, ?)", (uid, "1@c.us"))
        await db.execute("INSERT INTO messages (user_id, wa_id, chat_id, body) VALUES (?, ?, ?, '')", (uid, "m1", "1@c.us"))
        await db.execute("INSERT INTO wa_sessions (user_id, since, updated_at) VALUES (?, ?, ?)", (uid, now, now))
    await db.execute("DELETE FROM users WHERE id = ?", (gone,))
    for table in ("chats", "messages", "wa_sessions"):
        rows = await db.fetch_all(f"SELECT user_id FROM {table}")
        assert [r["user_id"] for r in rows] == [keep], table


async def test_upsert_never_duplicates_a_row(db):
    await migrate(db, every_owner(db.dialect))
    uid = await _user(db)
    row = {"user_id": uid, "wa_id": "true_1@c.us_A", "chat_id": "1@c.us", "body": "hi", "ack": 1}
    await db.upsert("messages", row, keys=["user_id", "wa_id"], update=["ack"])
    await db.upsert("messages", {**row, "ack": 3, "body": "changed"}, keys=["user_id", "wa_id"], update=["ack"])
    rows = await db.fetch_all("SELECT body, ack FROM messages")
    assert rows == [{"body": "hi", "ack": 3}]


async def test_a_transaction_rolls_back_on_error_and_constraints_raise_our_error(db):
    await migrate(db, every_owner(db.dialect))
    await _user(db, "first")
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            now = now_db()
            await tx.execute("INSERT INTO users (username, password_hash, created_at, updated_at) VALUES ('second', 'x', ?, ?)", (now, now))
            await tx.execute("INSERT INTO users (username, password_hash, created_at, updated_at) VALUES ('first', 'x', ?, ?)", (now, now))
    names = [r["username"] for r in await db.fetch_all("SELECT username FROM users")]
    assert names == ["first"]


async def test_parameters_are_never_executed_as_sql(db):
    await migrate(db, every_owner(db.dialect))
    payload = "x'); DROP TABLE users; -- %s ? %%"
    uid = await _user(db, "inj")
    await db.execute("UPDATE users SET full_name = ? WHERE id = ?", (payload, uid))
    assert await db.fetch_value("SELECT full_name FROM users WHERE id = ?", (uid,)) == payload
    assert await db.fetch_value("SELECT COUNT(*) FROM users WHERE full_name LIKE ?", ("%DROP%",)) == 1


def test_split_statements_keeps_a_trigger_body_whole():
    sql = "CREATE TABLE a (x TEXT);\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n    DELETE FROM a;\n    SELECT 1;\nEND;\nSELECT 2;"
    assert split_statements(sql) == [
        "CREATE TABLE a (x TEXT)",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n    DELETE FROM a;\n    SELECT 1;\nEND",
        "SELECT 2",
    ]


def test_split_statements_keeps_semicolons_inside_lines():
    sql = "-- comment;\nCREATE TABLE a (x TEXT DEFAULT ';');\nINSERT INTO a VALUES ('1');\n"
    assert split_statements(sql) == ["CREATE TABLE a (x TEXT DEFAULT ';')", "INSERT INTO a VALUES ('1')"]


def test_urls_parse_and_redact():
    assert parse_url("sqlite:///data/x.db") == {"backend": "sqlite", "path": "data/x.db"}
    assert parse_url("sqlite:////abs/x.db")["path"] == "/abs/x.db"
    info = parse_url("mysql://bob:p%40ss@db.local:3307/app")
    assert (info["user"], info["password"], info["host"], info["port"], info["db"]) == ("bob", "p@ss", "db.local", 3307, "app")
    assert "p%40ss" not in redact_url("mysql://bob:p%40ss@db.local:3307/app")
    with pytest.raises(ValueError):
        parse_url("postgres://x/y")


async def test_a_deadlock_victim_is_our_error_and_is_retried_on_mysql():
    """Two transactions lock two rows in opposite orders: MySQL kills one, which runs again."""
    import asyncio

    from server.db import Deadlock, retry_deadlocks
    from tests.support.server import mysql_database

    with mysql_database() as url:
        db = open_database(url)
        await db.connect()
        try:
            await migrate(db, every_owner("mysql"))
            first, second = await _user(db, "one"), await _user(db, "two")
            both_locked_one = asyncio.Barrier(2)
            attempts: list[str] = []
            victims: list[str] = []

            async def cross(name: str, a: int, b: int) -> None:
                async def attempt() -> None:
                    attempts.append(name)
                    try:
                        async with db.transaction() as tx:
                            await tx.execute("UPDATE users SET points = points + 1 WHERE id = ?", (a,))
                            if attempts.count(name) == 1:
                                await both_locked_one.wait()
                            await tx.execute("UPDATE users SET points = points + 1 WHERE id = ?", (b,))
                    except Deadlock:
                        victims.append(name)
                        raise

                await retry_deadlocks(attempt)

            await asyncio.wait_for(asyncio.gather(cross("a", first, second), cross("b", second, first)), 60)
            assert len(victims) == 1 and len(attempts) == 3
            points = [r["points"] for r in await db.fetch_all("SELECT points FROM users ORDER BY id")]
            assert points == [2, 2]  # both transactions counted once, the victim's first try not at all
        finally:
            await db.close()

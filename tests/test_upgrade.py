"""Upgrading: a database made by the first release migrates to plugin-owned tables and canonical
usernames without losing a row, on both databases."""
from __future__ import annotations

import bcrypt

from plugins.auth.usernames import skeleton
from server.db import open_database
from server.db.migrations import split_statements
from tests.support.server import BUILTIN_MIGRATIONS, ROOT, TEST_PASSWORD, bearer

ROUND_ONE = ROOT / "tests" / "fixtures" / "round1"  # sql/<dialect>/0001_initial.sql as the first release shipped it
NOW = "2026-11-30 12:00:00"


async def make_round_one_database(db_url: str) -> None:
    """The schema and rows of a first-release server: every table made by core/0001_initial.sql."""
    db = open_database(db_url)
    await db.connect()
    try:
        for statement in split_statements((ROUND_ONE / f"{db.dialect}.sql").read_text(encoding="utf-8")):
            await db.execute(statement)
        await db.execute("CREATE TABLE schema_migrations (id VARCHAR(191) NOT NULL PRIMARY KEY, applied_at VARCHAR(32) NOT NULL)")
        await db.execute("INSERT INTO schema_migrations (id, applied_at) VALUES ('core/0001_initial.sql', '2026-11-28T10:00:00Z')")
        password_hash = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
        for name, role in (("Alice_Admin", "admin"), ("Bob.Smith", "user"), ("carol01", "user")):
            await db.execute(
                "INSERT INTO users (username, password_hash, full_name, email, role, points, token_version, created_at,"
                " updated_at) VALUES (?, ?, ?, '', ?, 7, 0, ?, ?)",
                (name, password_hash, f"Full {name}", role, NOW, NOW),
            )
        await db.execute("INSERT INTO products (name, description, price_cents, points, image, created_at, updated_at)"
                         " VALUES ('Mug', 'A mug', 1990, 5, '', ?, ?)", (NOW, NOW))
        await db.execute("INSERT INTO articles (title, content, author, image, created_at, updated_at)"
                         " VALUES ('News', 'Text', 'Alice', '', ?, ?)", (NOW, NOW))
        bob = await db.fetch_value("SELECT id FROM users WHERE username = 'Bob.Smith'")
        await db.execute("INSERT INTO wa_sessions (user_id, state, phone, since, updated_at) VALUES (?, 'STOPPED', '79990000001', ?, ?)",
                         (bob, NOW, NOW))
        await db.execute("INSERT INTO chats (user_id, wa_id, name, timestamp) VALUES (?, '79990000002@c.us', 'Dan', 1764500000)", (bob,))
        await db.execute("INSERT INTO messages (user_id, wa_id, chat_id, from_id, to_id, body, type, from_me, ack, timestamp)"
                         " VALUES (?, 'false_79990000002@c.us_A1', '79990000002@c.us', '79990000002@c.us', '79990000001@c.us',"
                         " 'kept across the upgrade', 'chat', 0, 0, 1764500000)", (bob,))
    finally:
        await db.close()


async def test_a_first_release_database_upgrades_without_loss(db_url, make_server):
    await make_round_one_database(db_url)
    server = await make_server()
    applied = {r["id"] for r in await server.app.db.fetch_all("SELECT id FROM schema_migrations")}
    assert applied == set(BUILTIN_MIGRATIONS)
    rows = await server.app.db.fetch_all("SELECT username, username_skeleton, full_name, points FROM users ORDER BY id")
    assert [r["username"] for r in rows] == ["alice_admin", "bob.smith", "carol01"]
    assert [r["username_skeleton"] for r in rows] == [skeleton(r["username"]) for r in rows] == ["alice-admin", "bob-smith", "carolol"]
    assert [r["points"] for r in rows] == [7, 7, 7] and rows[1]["full_name"] == "Full Bob.Smith"

    # Old names sign in as they were typed; a lookalike of one is taken.
    signed_in = await server.client.post("/api/auth/login", json={"username": "Bob.Smith", "password": TEST_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    bob = signed_in.json()
    assert bob["user"]["username"] == "bob.smith"
    taken = await server.client.post("/api/auth/register", json={"username": "bob_smith", "password": TEST_PASSWORD})
    assert taken.status_code == 409
    admin = await server.client.post("/api/auth/login", json={"username": "ALICE_ADMIN", "password": TEST_PASSWORD})
    assert admin.json()["user"]["role"] == "admin"

    # Every other table kept its rows, and the API serves them.
    products = (await server.client.get("/api/products")).json()["items"]
    assert [(p["name"], p["price"], p["points"]) for p in products] == [("Mug", "19.90", 5)]
    assert [a["title"] for a in (await server.client.get("/api/articles")).json()["items"]] == ["News"]
    uid = bob["user"]["id"]
    chats = (await server.client.get(f"/api/whatsapp/chats/{uid}", headers=bearer(bob["token"]))).json()["items"]
    assert [c["name"] for c in chats] == ["Dan"]
    messages = (await server.client.get(f"/api/whatsapp/chats/{uid}/79990000002@c.us/messages",
                                        headers=bearer(bob["token"]))).json()["items"]
    assert [m["body"] for m in messages] == ["kept across the upgrade"]
    status = (await server.client.get(f"/api/whatsapp/status/{uid}", headers=bearer(bob["token"]))).json()
    assert status["state"] == "STOPPED"

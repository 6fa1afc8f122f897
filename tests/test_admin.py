"""Administration: users and roles, the last-admin rule, deletion, stats and sessions, on both databases."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx

from server import hookimpl
from server.timeutil import now_db
from tests.support.server import TEST_PASSWORD, assert_error, bearer, server_with_plugins


async def user_row(server, user_id: int) -> dict | None:
    return await server.app.db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))


async def set_role(server, token: str, user_id: int, role: Any) -> httpx.Response:
    return await server.client.put(f"/api/admin/users/{user_id}/role", headers=bearer(token), json={"role": role})


# -- listing ---------------------------------------------------------------------------------
async def test_list_users_filters_by_role_and_text_and_paginates(server):
    admin, _ = await server.admin("chief")
    await server.register("ann", fullName="Ann Smith", email="ann@example.com")
    await server.register("bob", email="bob@shop.example")
    await server.register("carl", fullName="Carl Smithers")
    everyone = (await server.client.get("/api/admin/users", headers=bearer(admin))).json()
    assert [u["username"] for u in everyone["items"]] == ["chief", "ann", "bob", "carl"]
    assert everyone["total"] == 4 and everyone["limit"] == 50 and everyone["offset"] == 0
    assert set(everyone["items"][1]) == {"id", "username", "fullName", "email", "role", "points", "created_at", "updated_at"}
    assert "password" not in str(everyone) and "token_version" not in str(everyone)

    admins = (await server.client.get("/api/admin/users", params={"role": "admin"}, headers=bearer(admin))).json()
    assert [u["username"] for u in admins["items"]] == ["chief"] and admins["total"] == 1
    users = (await server.client.get("/api/admin/users", params={"role": "user"}, headers=bearer(admin))).json()
    assert users["total"] == 3
    smiths = (await server.client.get("/api/admin/users", params={"q": "SMITH"}, headers=bearer(admin))).json()
    assert [u["username"] for u in smiths["items"]] == ["ann", "carl"]
    by_mail = (await server.client.get("/api/admin/users", params={"q": "shop.example"}, headers=bearer(admin))).json()
    assert [u["username"] for u in by_mail["items"]] == ["bob"]
    both = (await server.client.get("/api/admin/users", params={"q": "smith", "role": "admin"}, headers=bearer(admin))).json()
    assert both["items"] == [] and both["total"] == 0
    page = (await server.client.get("/api/admin/users", params={"limit": 2, "offset": 1}, headers=bearer(admin))).json()
    assert [u["username"] for u in page["items"]] == ["ann", "bob"] and page["total"] == 4
    capped = (await server.client.get("/api/admin/users", params={"limit": 999}, headers=bearer(admin))).json()
    assert capped["limit"] == 200
    for params, field in [({"role": "owner"}, "role"), ({"offset": -1}, "offset"), ({"limit": "x"}, "limit"), ({"sort": "id"}, "sort")]:
        response = await server.client.get("/api/admin/users", params=params, headers=bearer(admin))
        assert field in assert_error(response, 422, "validation_failed")["fields"]


async def test_one_user_by_id_and_404_for_none(server):
    admin, _ = await server.admin("chief")
    _, ann = await server.register("ann", fullName="Ann Smith", email="ann@example.com")
    one = await server.client.get(f"/api/admin/users/{ann['id']}", headers=bearer(admin))
    assert one.status_code == 200, one.text
    assert one.json() == (await server.client.get("/api/admin/users", params={"q": "ann"}, headers=bearer(admin))).json()["items"][0]
    assert "password" not in one.text and "token_version" not in one.text
    assert_error(await server.client.get("/api/admin/users/999999", headers=bearer(admin)), 404, "not_found")
    assert_error(await server.client.get("/api/admin/users/1" + "0" * 20, headers=bearer(admin)), 404, "not_found")


# -- roles -------------------------------------------------------------------------------------
async def test_promoting_a_user_revokes_their_tokens_and_gives_admin_rights(server):
    admin, _ = await server.admin()
    token, user = await server.register("dora")
    before = await user_row(server, user["id"])
    response = await set_role(server, admin, user["id"], "admin")
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin" and response.json()["id"] == user["id"]
    after = await user_row(server, user["id"])
    assert after["role"] == "admin" and after["token_version"] == before["token_version"] + 1
    assert_error(await server.client.get("/api/user/profile", headers=bearer(token)), 401, "unauthorized")
    login = await server.client.post("/api/auth/login", json={"username": "dora", "password": TEST_PASSWORD})
    fresh = login.json()["token"]
    assert (await server.client.get("/api/admin/stats", headers=bearer(fresh))).status_code == 200


async def test_setting_the_same_role_changes_nothing(server):
    admin, _ = await server.admin()
    token, user = await server.register("eve")
    before = await user_row(server, user["id"])
    response = await set_role(server, admin, user["id"], "user")
    assert response.status_code == 200 and response.json()["role"] == "user"
    assert await user_row(server, user["id"]) == before
    assert (await server.client.get("/api/user/profile", headers=bearer(token))).status_code == 200


async def test_admin_cannot_demote_the_last_admin(server):
    admin, me = await server.admin()
    before = await user_row(server, me["id"])
    error = assert_error(await set_role(server, admin, me["id"], "user"), 409, "conflict")
    assert "administrator" in error["message"]
    assert await user_row(server, me["id"]) == before
    assert (await server.client.get("/api/admin/stats", headers=bearer(admin))).status_code == 200


async def test_an_admin_may_step_down_when_another_remains(server):
    first, me = await server.admin("first")
    second, other = await server.admin("second")
    response = await set_role(server, first, me["id"], "user")
    assert response.status_code == 200 and response.json()["role"] == "user"
    assert_error(await server.client.get("/api/admin/stats", headers=bearer(first)), 401, "unauthorized")
    assert_error(await set_role(server, second, other["id"], "user"), 409, "conflict")
    assert (await user_row(server, other["id"]))["role"] == "admin"


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(server):
    for _ in range(3):
        await server.app.db.execute("DELETE FROM users")
        a_token, a = await server.admin("alpha")
        b_token, b = await server.admin("beta")
        results = await asyncio.gather(set_role(server, a_token, b["id"], "user"), set_role(server, b_token, a["id"], "user"))
        statuses = sorted(r.status_code for r in results)
        assert statuses in ([200, 401], [200, 409]), [r.text for r in results]
        assert await server.app.db.fetch_value("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'") == 1


async def test_two_admins_deleting_each_other_at_once_leave_one_admin(server):
    for _ in range(3):
        await server.app.db.execute("DELETE FROM users")
        a_token, a = await server.admin("alpha")
        b_token, b = await server.admin("beta")
        results = await asyncio.gather(
            server.client.delete(f"/api/admin/users/{b['id']}", headers=bearer(a_token)),
            server.client.delete(f"/api/admin/users/{a['id']}", headers=bearer(b_token)),
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses in ([204, 401], [204, 409]), [r.text for r in results]
        assert await server.app.db.fetch_value("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'") == 1


async def test_role_body_is_validated_and_unknown_users_are_404(server):
    admin, _ = await server.admin()
    _, user = await server.register()
    before = await user_row(server, user["id"])
    for body, field in [({"role": "owner"}, "role"), ({}, "role"), ({"role": None}, "role"), ({"role": 1}, "role"),
                        ({"role": "admin", "points": 5}, "points")]:
        response = await server.client.put(f"/api/admin/users/{user['id']}/role", headers=bearer(admin), json=body)
        assert field in assert_error(response, 422, "validation_failed")["fields"], body
    assert_error(await set_role(server, admin, 987654, "admin"), 404, "not_found")
    assert_error(await set_role(server, admin, int("9" * 18), "admin"), 404, "not_found")
    assert_error(await server.client.put("/api/admin/users/" + "9" * 40 + "/role", headers=bearer(admin), json={"role": "user"}), 404, "not_found")
    assert await user_row(server, user["id"]) == before


# -- deletion --------------------------------------------------------------------------------
class Recorder:
    """A plugin that records user_deleted calls, as the WhatsApp plugin will stop sessions."""

    def __init__(self) -> None:
        self.deleted: list[int] = []

    @hookimpl
    async def user_deleted(self, app, user_id):
        await asyncio.sleep(0)
        self.deleted.append(user_id)


async def test_deleting_a_user_removes_their_chats_and_messages_and_tells_the_plugins(make_server):
    recorder = Recorder()
    server = await make_server(plugins=[recorder])
    admin, _ = await server.admin()
    token, victim = await server.register("victim")
    _, bystander = await server.register("bystander")
    now = now_db()
    for uid in (victim["id"], bystander["id"]):
        await server.app.db.execute("INSERT INTO wa_sessions (user_id, state, since, updated_at) VALUES (?, 'STOPPED', ?, ?)", (uid, now, now))
        await server.app.db.execute("INSERT INTO chats (user_id, wa_id, name) VALUES (?, '79991234567@c.us', 'Mom')", (uid,))
        await server.app.db.execute(
            "INSERT INTO messages (user_id, wa_id, chat_id, body) VALUES (?, 'true_1', '79991234567@c.us', 'hi')", (uid,)
        )
    response = await server.client.delete(f"/api/admin/users/{victim['id']}", headers=bearer(admin))
    assert response.status_code == 204 and response.content == b""
    assert await user_row(server, victim["id"]) is None
    for table in ("chats", "messages", "wa_sessions"):
        left = await server.app.db.fetch_all(f"SELECT user_id FROM {table}")
        assert [int(r["user_id"]) for r in left] == [bystander["id"]], table
    assert recorder.deleted == [victim["id"]]
    assert_error(await server.client.get("/api/user/profile", headers=bearer(token)), 401, "unauthorized")
    assert_error(await server.client.delete(f"/api/admin/users/{victim['id']}", headers=bearer(admin)), 404, "not_found")
    assert recorder.deleted == [victim["id"]]


async def test_admin_cannot_delete_the_last_admin(make_server):
    recorder = Recorder()
    server = await make_server(plugins=[recorder])
    admin, me = await server.admin()
    before = await user_row(server, me["id"])
    assert_error(await server.client.delete(f"/api/admin/users/{me['id']}", headers=bearer(admin)), 409, "conflict")
    assert await user_row(server, me["id"]) == before
    assert recorder.deleted == []
    second, other = await server.admin("second")
    assert (await server.client.delete(f"/api/admin/users/{me['id']}", headers=bearer(second))).status_code == 204
    assert_error(await server.client.delete(f"/api/admin/users/{other['id']}", headers=bearer(second)), 409, "conflict")
    assert await server.count("users") == 1


# -- the role matrix ---------------------------------------------------------------------
async def test_role_matrix(server):
    """Every admin route: a stranger gets 401, a user 403 and neither changes a row."""
    admin, _ = await server.admin()
    user_token, user = await server.register("plain")
    _, target = await server.register("target")
    routes = [
        ("GET", "/api/admin/users", None, 200),
        ("PUT", f"/api/admin/users/{target['id']}/role", {"role": "user"}, 200),
        ("GET", "/api/admin/stats", None, 200),
        ("GET", "/api/admin/whatsapp-sessions", None, 200),
        ("DELETE", f"/api/admin/users/{target['id']}", None, 204),
    ]
    for method, path, body, admin_status in routes:
        for who, token, status, code in (("anonymous", None, 401, "unauthorized"), ("user", user_token, 403, "forbidden")):
            before = await server.app.db.fetch_all("SELECT * FROM users ORDER BY id")
            headers = bearer(token) if token else {}
            response = await server.client.request(method, path, headers=headers, json=body)
            assert_error(response, status, code)
            assert await server.app.db.fetch_all("SELECT * FROM users ORDER BY id") == before, (method, path, who)
        response = await server.client.request(method, path, headers=bearer(admin), json=body)
        assert response.status_code == admin_status, (method, path, response.text)
    assert (await server.client.get("/api/user/profile", headers=bearer(user_token))).json()["id"] == user["id"]


# -- stats and sessions ---------------------------------------------------------------------
async def test_stats_have_every_field_of_the_contract(server):
    admin, _ = await server.admin()
    await server.register()
    await server.client.post("/api/products", headers=bearer(admin), json={"name": "Mug"})
    await server.client.post("/api/articles", headers=bearer(admin), json={"title": "News"})
    response = await server.client.get("/api/admin/stats", headers=bearer(admin))
    assert response.status_code == 200
    stats = response.json()
    assert {"users", "products", "articles", "whatsapp", "websocket", "process", "database"} <= set(stats)
    assert stats["users"] == {"total": 2, "admins": 1}
    assert stats["products"] == 1 and stats["articles"] == 1
    assert set(stats["whatsapp"]) >= {"sessions", "byState", "maxSessions"}
    assert isinstance(stats["websocket"]["connections"], int)
    assert stats["process"]["uptimeSeconds"] > 0 and stats["process"]["rssBytes"] > 10 * 1024 * 1024
    assert stats["database"]["backend"] == server.app.db.backend
    assert set(stats["database"]["pool"]) == {"size", "free", "maxsize"}


async def test_stats_have_only_the_parts_of_enabled_plugins(tmp_path, db_url):
    async with server_with_plugins(tmp_path, db_url, ["auth", "admin"]) as server:
        admin, _ = await server.admin()
        stats = (await server.client.get("/api/admin/stats", headers=bearer(admin))).json()
        assert set(stats) == {"users", "process", "database", "websocket"}  # the websocket is the core's
        assert stats["websocket"] == {"connections": 0}


class ExtraStats:
    """A plugin reporting its own part of the stats."""

    @hookimpl
    def admin_stats(self, app):
        return {"custom": {"ok": True}, "users": {"guests": 3}}


async def test_plugins_add_their_part_to_the_stats(tmp_path, db_url):
    async with server_with_plugins(tmp_path, db_url, ["auth", "catalog", "articles", "admin"], [ExtraStats()]) as server:
        admin, _ = await server.admin()
        await server.register("ann")
        stats = (await server.client.get("/api/admin/stats", headers=bearer(admin))).json()
        assert stats["custom"] == {"ok": True}
        assert stats["users"] == {"total": 2, "admins": 1, "guests": 3}  # deep-merged with the admin's own
        assert stats["products"] == 0 and stats["articles"] == 0
        assert "whatsapp" not in stats


async def test_the_sessions_list_is_the_whatsapp_plugins_route(tmp_path, db_url):
    async with server_with_plugins(tmp_path, db_url, ["auth", "admin"]) as server:
        admin, _ = await server.admin()
        response = await server.client.get("/api/admin/whatsapp-sessions", headers=bearer(admin))
        assert_error(response, 404, "not_found")

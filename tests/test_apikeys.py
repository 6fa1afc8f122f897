"""API keys: made, listed, renamed and revoked over /api/keys; used on REST and /ws as their user,
or less (read-only); stored as a hash; never in a log line."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from server import hookimpl
from server.ws import read_command
from tests.support.server import TEST_PASSWORD, assert_error, bearer
from tests.support.ws import Client

KEY_FIELDS = {"id", "name", "key", "prefix", "readOnly", "createdAt", "expiresAt", "lastUsedAt"}


def api_key(key: str) -> dict[str, str]:
    return {"X-Api-Key": key}


async def make_key(server: Any, token: str, **body: Any) -> dict[str, Any]:
    response = await server.client.post("/api/keys", headers=bearer(token), json={"name": "integration", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def open_socket(server: Any, query: str = "", headers: dict[str, str] | None = None) -> Client:
    client = Client(await websocket_connect(HTTPRequest(f"{server.ws_url}?{query}", headers=headers or {})))
    assert (await client.next_of("hello"))["type"] == "hello"
    return client


async def closed_with(client: Client) -> int | None:
    """Read until the server closes the socket; its close code."""
    while (await client.next(timeout=10)) is not None:
        pass
    return client.conn.close_code


async def test_a_key_is_made_listed_renamed_and_revoked(server):
    token, user = await server.register("keeper")
    made = await make_key(server, token, name="nightly export")
    assert set(made) == KEY_FIELDS
    assert made["name"] == "nightly export" and made["readOnly"] is False and made["expiresAt"] is None
    assert made["lastUsedAt"] is None and made["createdAt"].endswith("Z")
    assert made["key"].startswith(made["prefix"] + "_") and made["prefix"].startswith("wmk_")
    assert len(made["key"]) >= len("wmk_") + 8 + 1 + 32
    response = await server.client.post("/api/keys", headers=bearer(token), json={"name": "second"})
    assert response.headers["Location"] == f"/api/keys/{response.json()['id']}"
    second = response.json()
    assert second["key"] != made["key"] and second["prefix"] != made["prefix"]

    listed = (await server.client.get("/api/keys", headers=bearer(token))).json()
    assert listed["total"] == 2 and [k["id"] for k in listed["items"]] == [second["id"], made["id"]]  # newest first
    assert all("key" not in item for item in listed["items"])
    assert made["key"] not in json.dumps(listed) and second["key"] not in json.dumps(listed)
    one = (await server.client.get(f"/api/keys/{made['id']}", headers=bearer(token))).json()
    assert one == {k: v for k, v in made.items() if k != "key"}
    paged = (await server.client.get("/api/keys?limit=1&offset=1", headers=bearer(token))).json()
    assert paged["total"] == 2 and [k["id"] for k in paged["items"]] == [made["id"]]

    renamed = await server.client.patch(f"/api/keys/{made['id']}", headers=bearer(token), json={"name": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed" and "key" not in renamed.json()

    assert (await server.client.get("/api/user/profile", headers=api_key(made["key"]))).json()["id"] == user["id"]
    response = await server.client.delete(f"/api/keys/{made['id']}", headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    assert_error(await server.client.get("/api/user/profile", headers=api_key(made["key"])), 401, "unauthorized")
    assert_error(await server.client.get(f"/api/keys/{made['id']}", headers=bearer(token)), 404, "not_found")
    assert_error(await server.client.delete(f"/api/keys/{made['id']}", headers=bearer(token)), 404, "not_found")
    assert (await server.client.get("/api/user/profile", headers=api_key(second["key"]))).status_code == 200


async def test_a_key_works_on_rest_and_on_the_websocket_as_its_user(server, clients):
    token, user = await server.register("integrator")
    key = (await make_key(server, token))["key"]
    for headers in (api_key(key), bearer(key)):
        response = await server.client.get("/api/user/profile", headers=headers)
        assert response.status_code == 200 and response.json()["id"] == user["id"]
    # A REST call never takes a credential from its URL.
    assert_error(await server.client.get(f"/api/user/profile?api_key={key}"), 401, "unauthorized")
    for query, headers in ((f"api_key={key}", {}), ("", api_key(key)), ("", bearer(key))):
        client = Client(await websocket_connect(HTTPRequest(f"{server.ws_url}?{query}", headers=headers)))
        clients.append(client)
        hello = await client.next_of("hello")
        assert hello["data"]["userId"] == user["id"] and hello["data"]["user"]["id"] == user["id"]
        assert (await client.command("ping"))["ok"] is True


async def test_a_full_key_may_do_what_its_user_may_and_no_more(server):
    admin_token, _ = await server.admin()
    token, user = await server.register("plain")
    key = (await make_key(server, token))["key"]
    changed = await server.client.put("/api/user/profile", headers=api_key(key), json={"fullName": "Via Key"})
    assert changed.status_code == 200 and changed.json()["fullName"] == "Via Key"
    assert_error(await server.client.get("/api/admin/users", headers=api_key(key)), 403, "forbidden")
    assert_error(await server.client.post("/api/products", headers=api_key(key), json={"name": "x"}), 403, "forbidden")
    admin_key = (await make_key(server, admin_token))["key"]
    assert (await server.client.post("/api/products", headers=api_key(admin_key), json={"name": "Mug"})).status_code == 201


async def test_a_revoked_key_is_401_at_once_and_its_socket_closes_now(make_server, clients):
    server = await make_server(websocket={"reauth_interval": 3600})
    token, user = await server.register("revoker")
    doomed, kept = await make_key(server, token, name="doomed"), await make_key(server, token, name="kept")
    by_query = await open_socket(server, f"api_key={doomed['key']}")
    by_header = await open_socket(server, headers=api_key(doomed["key"]))
    other_key = await open_socket(server, headers=api_key(kept["key"]))
    by_jwt = await open_socket(server, f"token={token}")
    clients.extend([by_query, by_header, other_key, by_jwt])

    assert (await server.client.delete(f"/api/keys/{doomed['id']}", headers=bearer(token))).status_code == 204
    assert_error(await server.client.get("/api/user/profile", headers=api_key(doomed["key"])), 401, "unauthorized")
    assert await closed_with(by_query) == 4401
    assert await closed_with(by_header) == 4401
    # The user's other credentials, and their sockets, are untouched.
    for client in (other_key, by_jwt):
        assert (await client.command("ping"))["ok"] is True
    assert (await server.client.get("/api/user/profile", headers=api_key(kept["key"]))).status_code == 200
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(f"{server.ws_url}?api_key={doomed['key']}")
    assert refused.value.code == 401


async def test_a_read_only_key_reads_but_cannot_write(make_server, clients):
    server = await make_server(whatsapp={"restore_on_boot": False})
    token, user = await server.register("reader")
    made = await make_key(server, token, readOnly=True)
    assert made["readOnly"] is True
    key = made["key"]
    chats = await server.client.get(f"/api/whatsapp/chats/{user['id']}", headers=api_key(key))
    assert chats.status_code == 200 and chats.json()["items"] == []
    assert (await server.client.get("/api/keys", headers=api_key(key))).json()["total"] == 1
    before = await server.count("messages"), await server.count("api_keys")
    refusals = [
        await server.client.post(f"/api/whatsapp/send/{user['id']}", headers=api_key(key), json={"to": "+79990000002", "message": "hi"}),
        await server.client.post(f"/api/whatsapp/start/{user['id']}", headers=api_key(key)),
        await server.client.put("/api/user/profile", headers=api_key(key), json={"fullName": "Changed"}),
        await server.client.post("/api/keys", headers=api_key(key), json={"name": "escalate"}),
        await server.client.delete(f"/api/keys/{made['id']}", headers=bearer(key)),
    ]
    for response in refusals:
        assert "read-only" in assert_error(response, 403, "forbidden")["message"]
    assert (await server.count("messages"), await server.count("api_keys")) == before
    assert (await server.client.get("/api/user/profile", headers=bearer(token))).json()["fullName"] == ""

    socket = await open_socket(server, f"api_key={key}")
    clients.append(socket)
    assert (await socket.command("ping"))["ok"] is True
    sent = await socket.command("message.send", {"to": "+79990000002", "message": "hi"})
    assert sent["ok"] is False and sent["error"]["status"] == 403 and sent["error"]["code"] == "forbidden"
    assert await server.count("messages") == before[0]


async def test_a_read_only_socket_may_send_only_commands_marked_as_reads(make_server, clients):
    calls: list[str] = []

    class Commands:
        @hookimpl
        def register_ws_commands(self, app: Any) -> dict:
            @read_command
            async def look(socket: Any, data: dict) -> dict:
                calls.append("look")
                return {"looked": True}

            async def touch(socket: Any, data: dict) -> dict:
                calls.append("touch")
                return {"touched": True}

            return {"test.look": look, "test.touch": touch}

    server = await make_server(plugins=[Commands()])
    token, _ = await server.register("marks")
    read_only = await open_socket(server, f"api_key={(await make_key(server, token, readOnly=True))['key']}")
    full = await open_socket(server, f"api_key={(await make_key(server, token))['key']}")
    clients.extend([read_only, full])
    assert (await read_only.command("test.look"))["data"] == {"looked": True}
    refused = await read_only.command("test.touch")
    assert refused["ok"] is False and refused["error"]["status"] == 403
    assert (await full.command("test.touch"))["data"] == {"touched": True}
    assert calls == ["look", "touch"]  # the refused command never ran


async def test_another_users_keys_are_404_and_only_an_admin_lists_them(server):
    admin_token, _ = await server.admin()
    alice_token, alice = await server.register("alice")
    bob_token, bob = await server.register("bob")
    alices = await make_key(server, alice_token)
    for method, body in (("GET", None), ("PATCH", {"name": "mine now"}), ("DELETE", None)):
        response = await server.client.request(method, f"/api/keys/{alices['id']}", headers=bearer(bob_token), json=body)
        assert_error(response, 404, "not_found")
    assert (await server.client.get("/api/keys", headers=bearer(bob_token))).json()["total"] == 0
    assert_error(await server.client.get(f"/api/keys?userId={alice['id']}", headers=bearer(bob_token)), 403, "forbidden")
    assert (await server.client.get(f"/api/keys?userId={bob['id']}", headers=bearer(bob_token))).json()["total"] == 0
    assert (await server.client.get(f"/api/keys/{alices['id']}", headers=bearer(alice_token))).json()["name"] == "integration"

    listed = (await server.client.get(f"/api/keys?userId={alice['id']}", headers=bearer(admin_token))).json()
    assert [k["id"] for k in listed["items"]] == [alices["id"]] and "key" not in listed["items"][0]
    assert (await server.client.get("/api/keys", headers=bearer(admin_token))).json()["total"] == 0  # their own
    assert_error(await server.client.get("/api/keys?userId=999999999", headers=bearer(admin_token)), 404, "not_found")
    assert (await server.client.get(f"/api/keys/{alices['id']}", headers=bearer(admin_token))).status_code == 200
    assert (await server.client.delete(f"/api/keys/{alices['id']}", headers=bearer(admin_token))).status_code == 204
    assert_error(await server.client.get("/api/user/profile", headers=api_key(alices["key"])), 401, "unauthorized")


async def test_the_stored_row_holds_a_hash_and_never_the_key(server):
    token, _ = await server.register("hashed")
    made = await make_key(server, token)
    rows = await server.app.db.fetch_all("SELECT * FROM api_keys")
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    secret = made["key"].rsplit("_", 1)[1]
    assert made["key"] not in stored and secret not in stored
    assert rows[0]["secret_hash"] == hashlib.sha256(made["key"].encode()).hexdigest()


async def test_a_key_fails_like_a_jwt_when_its_user_changes_or_goes(server):
    admin_token, _ = await server.admin()
    token, user = await server.register("changing")
    role_key, password_key, gone_key = [(await make_key(server, token))["key"] for _ in range(3)]
    assert (await server.client.get("/api/user/profile", headers=api_key(role_key))).status_code == 200

    promoted = await server.client.put(f"/api/admin/users/{user['id']}/role", headers=bearer(admin_token), json={"role": "admin"})
    assert promoted.status_code == 200
    for key in (role_key, password_key, gone_key):  # the role change revokes all of them
        assert_error(await server.client.get("/api/user/profile", headers=api_key(key)), 401, "unauthorized")
        assert_error(await server.client.get("/api/admin/stats", headers=api_key(key)), 401, "unauthorized")

    login = await server.client.post("/api/auth/login", json={"username": "changing", "password": TEST_PASSWORD})
    token = login.json()["token"]
    fresh = (await make_key(server, token))["key"]
    assert (await server.client.get("/api/admin/stats", headers=api_key(fresh))).status_code == 200
    changed = await server.client.put("/api/user/profile", headers=bearer(token),
                                      json={"password": "another long password", "currentPassword": TEST_PASSWORD})
    assert changed.status_code == 200
    assert_error(await server.client.get("/api/user/profile", headers=api_key(fresh)), 401, "unauthorized")

    survivor_token = changed.json()["token"]
    last = (await make_key(server, survivor_token))["key"]
    assert (await server.client.get("/api/user/profile", headers=api_key(last))).status_code == 200
    other_admin, _ = await server.admin("second_admin")
    assert (await server.client.delete(f"/api/admin/users/{user['id']}", headers=bearer(other_admin))).status_code == 204
    assert_error(await server.client.get("/api/user/profile", headers=api_key(last)), 401, "unauthorized")
    assert await server.app.db.fetch_value("SELECT COUNT(*) FROM api_keys WHERE user_id = ?", (user["id"],)) == 0


async def test_an_expired_key_is_401_and_a_past_expiry_is_refused(server):
    token, _ = await server.register("expiring")
    soon = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    made = await make_key(server, token, expiresAt=soon.isoformat())
    assert made["expiresAt"] == soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await server.client.get("/api/user/profile", headers=api_key(made["key"]))).status_code == 200
    await server.app.db.execute("UPDATE api_keys SET expires_at = ? WHERE id = ?", ("2020-01-01 00:00:00", made["id"]))
    error = assert_error(await server.client.get("/api/user/profile", headers=api_key(made["key"])), 401, "unauthorized")
    assert "expired" in error["message"]
    past = await server.client.post("/api/keys", headers=bearer(token), json={"name": "old", "expiresAt": "2020-01-01T00:00:00Z"})
    assert assert_error(past, 422, "validation_failed")["fields"] == {"expiresAt": ["Must be in the future."]}
    beyond = await server.client.post("/api/keys", headers=bearer(token),
                                      json={"name": "far", "expiresAt": "9999-12-31T23:00:00-05:00"})
    assert "expiresAt" in assert_error(beyond, 422, "validation_failed")["fields"]
    assert await server.count("api_keys") == 1
    # A time with an offset is the same moment in UTC.
    offset = await make_key(server, token, expiresAt="2999-06-01T12:00:00+02:00")
    assert offset["expiresAt"] == "2999-06-01T10:00:00Z"


async def test_last_used_is_written_at_most_once_a_minute(server):
    token, _ = await server.register("toucher")
    made = await make_key(server, token)
    assert made["lastUsedAt"] is None

    async def use_then_read() -> str | None:
        for _ in range(3):
            assert (await server.client.get("/api/user/profile", headers=api_key(made["key"]))).status_code == 200
        return (await server.client.get(f"/api/keys/{made['id']}", headers=bearer(token))).json()["lastUsedAt"]

    async def last_written(ago: timedelta) -> str:
        stamp = datetime.now(timezone.utc) - ago
        await server.app.db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?",
                                    (stamp.strftime("%Y-%m-%d %H:%M:%S"), made["id"]))
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert await use_then_read() is not None
    # Written 20 s ago: three more uses leave it as it is.
    recent = await last_written(timedelta(seconds=20))
    assert await use_then_read() == recent
    # Written two minutes ago: the next use writes it again.
    older = await last_written(timedelta(minutes=2))
    assert await use_then_read() > older


async def test_a_user_holds_at_most_max_per_user_keys(make_server):
    server = await make_server(apikeys={"max_per_user": 2})
    token, _ = await server.register("collector")
    await make_key(server, token)
    await make_key(server, token)
    error = assert_error(await server.client.post("/api/keys", headers=bearer(token), json={"name": "third"}), 409, "conflict")
    assert "delete one" in error["message"]
    assert await server.count("api_keys") == 2
    other_token, _ = await server.register("neighbour")
    await make_key(server, other_token)  # the limit is per user


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({}, "name"),
    ({"name": "x", "key": "wmk_chosen_by_me"}, "key"),
    ({"name": "x", "prefix": "wmk_aaaaaaaa"}, "prefix"),
    ({"name": "x", "userId": 1}, "userId"),
    ({"name": "x", "readOnly": "maybe"}, "readOnly"),
    ({"name": "x", "expiresAt": "tomorrow"}, "expiresAt"),
])
async def test_bad_key_requests_are_422_and_make_nothing(server, body, field):
    token, _ = await server.register("strict")
    error = assert_error(await server.client.post("/api/keys", headers=bearer(token), json=body), 422, "validation_failed")
    assert field in error["fields"]
    assert await server.count("api_keys") == 0


async def test_a_key_cannot_be_made_read_write_or_moved_by_an_update(server):
    token, _ = await server.register("patcher")
    made = await make_key(server, token, readOnly=True)
    for body in ({"readOnly": False}, {"name": "x", "userId": 1}, {}):
        response = await server.client.patch(f"/api/keys/{made['id']}", headers=bearer(token), json=body)
        assert_error(response, 422, "validation_failed")
    row = await server.app.db.fetch_one("SELECT name, read_only FROM api_keys WHERE id = ?", (made["id"],))
    assert (row["name"], bool(row["read_only"])) == ("integration", True)


async def test_malformed_and_forged_keys_are_401_everywhere(server):
    token, _ = await server.register("forger")
    key = (await make_key(server, token))["key"]
    head, secret = key.rsplit("_", 1)
    forged = {
        "wrong secret": f"{head}_{'A' * len(secret)}",
        "unknown public id": f"wmk_zzzzzzzz_{secret}",
        "short secret": f"{head}_{secret[:-1]}",
        "lower-cased": key.lower() if key.lower() != key else key.upper(),
        "prefix only": head,
        "bare prefix": "wmk_",
    }
    for name, bad in forged.items():
        response = await server.client.get("/api/user/profile", headers=api_key(bad))
        assert_error(response, 401, "unauthorized")
        assert response.headers.get("WWW-Authenticate") == "Bearer", name
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(HTTPRequest(server.ws_url, headers=api_key(bad)))
        assert refused.value.code == 401, name


async def test_no_log_line_holds_a_key_at_debug(make_server, caplog, clients):
    caplog.set_level(logging.DEBUG)
    server = await make_server(websocket={"reauth_interval": 0.05})
    token, _ = await server.register("quiet")
    made = await make_key(server, token)
    key, secret = made["key"], made["key"].rsplit("_", 1)[1]
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    await server.client.get("/api/user/profile", headers=api_key(key))
    await server.client.get("/api/user/profile", headers=bearer(key))
    await server.client.get("/api/user/profile", headers=api_key(wrong))
    await server.client.get(f"/api/user/profile?api_key={key}")
    await server.client.get(f"/api/no/such/path?api_key={key}", headers=api_key(key))
    socket = await open_socket(server, f"api_key={key}")
    clients.append(socket)
    assert (await socket.command("ping"))["ok"] is True
    with pytest.raises(HTTPClientError):
        await websocket_connect(f"{server.ws_url}?api_key={wrong}")
    await server.client.delete(f"/api/keys/{made['id']}", headers=bearer(token))
    assert await closed_with(socket) == 4401
    # httpx and httpcore are this test's own HTTP client, which logs the URLs and headers it sends.
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "wamulti.access" for r in records), "nothing was logged: the check would prove nothing"
    for record in records:
        text = " ".join([record.getMessage(), str(record.__dict__), record.exc_text or ""])
        for secret_text in (key, secret, wrong):
            assert secret_text not in text, f"{record.name}: {record.getMessage()}"

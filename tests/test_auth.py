"""Registration, login, tokens and profiles, on both databases."""
from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt

from tests.support.server import TEST_PASSWORD, assert_error, bearer


async def test_register_login_and_profile_round_trip(server):
    response = await server.client.post(
        "/api/auth/register",
        json={"username": "alice", "password": TEST_PASSWORD, "fullName": "Alice A", "email": "a@example.com"},
    )
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert user["username"] == "alice" and user["role"] == "user" and user["points"] == 0
    assert user["fullName"] == "Alice A" and user["email"] == "a@example.com"
    assert user["created_at"].endswith("Z")
    assert "password" not in response.text and "password_hash" not in response.text

    login = await server.client.post("/api/auth/login", json={"username": "alice", "password": TEST_PASSWORD})
    assert login.status_code == 200
    token = login.json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == str(user["id"]) and claims["role"] == "user" and claims["exp"] > time.time()

    profile = await server.client.get("/api/user/profile", headers=bearer(token))
    assert profile.status_code == 200 and profile.json()["id"] == user["id"]

    update = await server.client.put("/api/user/profile", headers=bearer(token), json={"fullName": "Alice B"})
    assert update.status_code == 200 and update.json()["fullName"] == "Alice B"
    again = await server.client.get("/api/user/profile", headers=bearer(token))
    assert again.json()["fullName"] == "Alice B"


async def test_username_taken_is_409_case_insensitively(server):
    await server.register("Carol")
    response = await server.client.post("/api/auth/register", json={"username": "carol", "password": TEST_PASSWORD})
    assert_error(response, 409, "conflict")
    assert await server.count("users") == 1


async def test_register_validation_names_the_fields(server):
    response = await server.client.post(
        "/api/auth/register", json={"username": "x", "password": "short", "email": "nope"}
    )
    error = assert_error(response, 422, "validation_failed")
    assert set(error["fields"]) == {"username", "password", "email"}
    assert await server.count("users") == 0


async def test_register_cannot_set_role_or_points(server):
    response = await server.client.post(
        "/api/auth/register", json={"username": "mallory", "password": TEST_PASSWORD, "role": "admin", "points": 9}
    )
    error = assert_error(response, 422, "validation_failed")
    assert set(error["fields"]) == {"role", "points"}
    assert await server.count("users") == 0


async def test_wrong_password_and_unknown_user_answer_the_same(server):
    await server.register("dave")
    wrong = await server.client.post("/api/auth/login", json={"username": "dave", "password": "not the password"})
    unknown = await server.client.post("/api/auth/login", json={"username": "nobody", "password": "not the password"})
    assert assert_error(wrong, 401, "unauthorized") == assert_error(unknown, 401, "unauthorized")


async def test_login_is_throttled_after_repeated_failures(make_server):
    server = await make_server(auth={"bcrypt_rounds": 4, "login_max_failures": 3, "login_window_seconds": 60})
    await server.register("erin")
    for _ in range(3):
        response = await server.client.post("/api/auth/login", json={"username": "erin", "password": "wrong password"})
        assert response.status_code == 401
    blocked = await server.client.post("/api/auth/login", json={"username": "erin", "password": TEST_PASSWORD})
    assert_error(blocked, 429, "rate_limited")
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    other = await server.register("frank")
    assert other[1]["username"] == "frank"
    ok = await server.client.post("/api/auth/login", json={"username": "frank", "password": TEST_PASSWORD})
    assert ok.status_code == 200


async def test_profile_update_rejects_unknown_fields_and_changes_nothing(server):
    token, user = await server.register("grace", fullName="Grace")
    before = await server.app.db.fetch_one("SELECT * FROM users WHERE id = ?", (user["id"],))
    for body in ({"role": "admin"}, {"points": 100}, {"id": 99, "fullName": "x"}):
        response = await server.client.put("/api/user/profile", headers=bearer(token), json=body)
        assert_error(response, 422, "validation_failed")
    wrong_type = await server.client.put("/api/user/profile", headers=bearer(token), json={"fullName": 12})
    assert assert_error(wrong_type, 422, "validation_failed")["fields"] == {"fullName": ["Not a valid string."]}
    after = await server.app.db.fetch_one("SELECT * FROM users WHERE id = ?", (user["id"],))
    assert after == before


async def test_new_password_needs_the_current_one(server):
    token, _ = await server.register("heidi")
    response = await server.client.put("/api/user/profile", headers=bearer(token), json={"password": "a new password"})
    assert_error(response, 401, "unauthorized")
    response = await server.client.put(
        "/api/user/profile", headers=bearer(token), json={"password": "a new password", "currentPassword": "wrong one"}
    )
    assert_error(response, 401, "unauthorized")
    response = await server.client.put(
        "/api/user/profile",
        headers=bearer(token),
        json={"password": "a new password", "currentPassword": TEST_PASSWORD},
    )
    assert response.status_code == 200
    old = await server.client.post("/api/auth/login", json={"username": "heidi", "password": TEST_PASSWORD})
    assert old.status_code == 401
    new = await server.client.post("/api/auth/login", json={"username": "heidi", "password": "a new password"})
    assert new.status_code == 200


def _forge(claims: dict, key: str = "not the server's secret", algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _unsigned(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def test_bad_tokens_are_401(server):
    token, user = await server.register("ivan")
    secret = server.app.state["auth"].tokens._secret
    now = int(time.time())
    good = {"sub": str(user["id"]), "role": "user", "ver": 0, "iat": now, "exp": now + 600}
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    cases = {
        "missing": None,
        "not a bearer": "Token " + token,
        "garbage": "Bearer abc.def.ghi",
        "tampered": "Bearer " + tampered,
        "other key": "Bearer " + _forge(good),
        "alg none": "Bearer " + _unsigned(good),
        "HS512": "Bearer " + _forge(good, secret, "HS512"),
        "expired": "Bearer " + _forge({**good, "iat": now - 7200, "exp": now - 3600}, secret),
        "not yet valid": "Bearer " + _forge({**good, "nbf": now + 3600}, secret),
        "no sub": "Bearer " + _forge({k: v for k, v in good.items() if k != "sub"}, secret),
        "other role": "Bearer " + _forge({**good, "role": "admin"}, secret),
    }
    for name, header in cases.items():
        headers = {"Authorization": header} if header else {}
        response = await server.client.get("/api/user/profile", headers=headers)
        assert response.status_code == 401, name
        assert_error(response, 401, "unauthorized")
        assert token not in response.text
    assert (await server.client.get("/api/user/profile", headers=bearer(token))).status_code == 200


async def test_deleted_users_token_stops_working(server):
    token, user = await server.register("judy")
    assert (await server.client.get("/api/user/profile", headers=bearer(token))).status_code == 200
    await server.app.db.execute("DELETE FROM users WHERE id = ?", (user["id"],))
    assert_error(await server.client.get("/api/user/profile", headers=bearer(token)), 401, "unauthorized")


async def test_role_change_revokes_tokens(server):
    token, user = await server.register("ken")
    await server.app.db.execute(
        "UPDATE users SET role = 'admin', token_version = token_version + 1 WHERE id = ?", (user["id"],)
    )
    assert_error(await server.client.get("/api/user/profile", headers=bearer(token)), 401, "unauthorized")


async def test_create_admin_makes_an_admin_who_can_sign_in(server):
    token, user = await server.admin("root_admin")
    assert user["role"] == "admin"
    profile = await server.client.get("/api/user/profile", headers=bearer(token))
    assert profile.json()["role"] == "admin"


async def test_twenty_logins_do_not_stall_the_event_loop(make_server):
    """bcrypt runs in threads: /api/health keeps answering while 20 slow logins run."""
    server = await make_server(auth={"bcrypt_rounds": 12})
    await server.register("loadtest")
    done = asyncio.Event()
    health_during: list[int] = []

    async def poll_health() -> None:
        while not done.is_set():
            response = await server.client.get("/api/health")
            assert response.status_code == 200
            health_during.append(1)
            await asyncio.sleep(0.005)

    poller = asyncio.create_task(poll_health())
    logins = [
        server.client.post("/api/auth/login", json={"username": "loadtest", "password": TEST_PASSWORD})
        for _ in range(20)
    ]
    results = await asyncio.gather(*logins)
    done.set()
    await poller
    assert all(r.status_code == 200 for r in results)
    # Were hashing done on the loop, each login would hold it for its whole hash, and the
    # one-at-a-time poller could complete at most one health request between two logins (~21).
    assert len(health_during) > 50, len(health_during)

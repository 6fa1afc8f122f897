"""Tokens that must not open anything: each is a 401, on REST and on the websocket (before the upgrade).

The server signs with a secret the test knows, so the forgeries below are the strongest kind:
right secret, wrong claims or algorithm. A valid token is tried alongside each batch, so a
server that refused everything would fail these tests too.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Callable

import jwt
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.support.server import TEST_PASSWORD, assert_error, bearer
from tests.support.ws import Client

SECRET = "test-secret-" + "k" * 60
OTHER_SECRET = "not-the-server-secret-" + "x" * 50


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def sign(claims: dict[str, Any], key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def hs256_with_empty_key(claims: dict[str, Any]) -> str:
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT'})}.{b64json(claims)}"
    return f"{signing_input}.{b64(hmac.new(b'', signing_input.encode(), hashlib.sha256).digest())}"


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    return f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(claims)}."


def with_payload(token: str, **changes: Any) -> str:
    """The token with its claims changed and its signature kept."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{head}.{b64json(claims)}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def variants(token: str, victim: dict[str, Any]) -> dict[str, str]:
    """Bad tokens made from ``token``, a valid one; ``victim`` is another user."""
    good = claims_of(token)
    now = int(time.time())
    other_role = "user" if good["role"] == "admin" else "admin"
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    without = lambda name: {k: v for k, v in good.items() if k != name}  # noqa: E731
    return {
        "tampered signature": f"{head}.{payload}.{flipped}",
        "signature dropped": f"{head}.{payload}.",
        "payload of another user, same signature": with_payload(token, sub=str(victim["id"])),
        "role changed, same signature": with_payload(token, role=other_role),
        "expiry extended, same signature": with_payload(token, exp=now + 10**6),
        "alg none": unsigned(good),
        "alg None": unsigned(good, "None"),
        "alg NONE": unsigned(good, "NONE"),
        "alg none with the old signature": unsigned(good)[:-1] + "." + signature,
        "HS384 with the server's secret": sign(good, algorithm="HS384"),
        "HS512 with the server's secret": sign(good, algorithm="HS512"),
        "RS256 header": f"{b64json({'alg': 'RS256', 'typ': 'JWT'})}.{payload}.{b64(b'x' * 256)}",
        "ES256 header": f"{b64json({'alg': 'ES256', 'typ': 'JWT'})}.{payload}.{b64(b'x' * 64)}",
        "another secret": sign(good, OTHER_SECRET),
        "empty secret": hs256_with_empty_key(good),
        "expired": sign({**good, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
        "not yet valid (nbf)": sign({**good, "nbf": now + 3600}),
        "issued in the future (iat)": sign({**good, "iat": now + 3600, "nbf": now - 10}),
        "missing sub": sign(without("sub")),
        "missing exp": sign(without("exp")),
        "missing iat": sign(without("iat")),
        "missing ver": sign(without("ver")),
        "missing role": sign(without("role")),
        "sub of nobody": sign({**good, "sub": str(10**9)}),
        "sub not a number": sign({**good, "sub": "1 OR 1=1"}),
        "another user's sub with a version they never had": sign({**good, "sub": str(victim["id"]), "ver": 99}),
        "role changed, signed": sign({**good, "role": other_role}),
        "old token version": sign({**good, "ver": good["ver"] - 1}),
        "garbage": "abc.def.ghi",
        "two parts": f"{head}.{payload}",
        "empty": "",
        "huge": "A" * 20_000,
    }


async def rest_status(server: Any, token: str | None, path: str = "/api/user/profile", **headers: str) -> Any:
    if token is not None:
        headers = {"Authorization": f"Bearer {token}".strip(), **headers}
    return await server.client.get(path, headers=headers)


async def ws_open(server: Any, token: str, *, header: bool, query: str = "") -> int:
    """101 when the socket opens (and says hello), else the status of the refused upgrade."""
    url = server.ws_url + "?" + query
    headers = {"Authorization": f"Bearer {token}".strip()} if header else {}
    if not header:
        url += f"&token={token}"
    try:
        client = Client(await websocket_connect(HTTPRequest(url, headers=headers)))
    except HTTPClientError as exc:
        if exc.code == 401:
            body = json.loads(exc.response.body)
            assert body["error"]["code"] == "unauthorized" and body["error"]["status"] == 401
        return exc.code
    try:
        assert (await client.next_of("hello"))["type"] == "hello"
    finally:
        client.close()
    return 101


async def assert_refused_everywhere(server: Any, token: str, name: str, path: str = "/api/user/profile") -> list[str]:
    problems = []
    response = await rest_status(server, token, path)
    if response.status_code != 401:
        problems.append(f"{name}: REST {path} answered {response.status_code}")
    else:
        assert_error(response, 401, "unauthorized")
        assert response.headers.get("WWW-Authenticate") == "Bearer", name
    for header in (False, True):
        if len(token) > 8000 and not header:
            continue  # past what a URL carries; the header form is tried
        status = await ws_open(server, token, header=header)
        if status != 401:
            problems.append(f"{name}: websocket ({'header' if header else 'query'}) answered {status}")
    return problems


@pytest.fixture
async def server(make_server: Callable) -> Any:
    return await make_server(auth={"jwt_secret": SECRET}, whatsapp={"restore_on_boot": False})


async def test_forged_and_broken_tokens_are_401_on_rest_and_websocket(server):
    token, user = await server.register("mallory")
    _, victim = await server.register("victim")
    assert (await rest_status(server, token)).status_code == 200
    assert await ws_open(server, token, header=False) == 101 and await ws_open(server, token, header=True) == 101
    problems: list[str] = []
    for name, bad in variants(token, victim).items():
        problems += await assert_refused_everywhere(server, bad, name)
    assert not problems, "\n".join(problems)
    assert (await rest_status(server, token)).status_code == 200


async def test_an_admins_forged_tokens_open_no_admin_route(server):
    token, admin = await server.admin()
    _, victim = await server.register("victim")
    assert (await rest_status(server, token, "/api/admin/stats")).status_code == 200
    problems: list[str] = []
    for name, bad in variants(token, victim).items():
        problems += await assert_refused_everywhere(server, bad, name, "/api/admin/stats")
    assert not problems, "\n".join(problems)


async def test_the_authorization_header_must_be_a_bearer_token(server):
    token, _ = await server.register("headers")
    for header in ("", "Bearer", f"Basic {token}", f"Token {token}", f"{token}", f"Bearer{token}", f"JWT {token}"):
        response = await server.client.get("/api/user/profile", headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")
    # A REST call never takes its token from the URL, where logs and Referer headers keep it.
    assert_error(await server.client.get(f"/api/user/profile?token={token}"), 401, "unauthorized")
    assert (await server.client.get("/api/user/profile", headers={"Authorization": f"bearer {token}"})).status_code == 200


async def test_a_deleted_users_token_is_401_everywhere_and_never_becomes_the_next_users(server):
    admin_token, _ = await server.admin()
    token, user = await server.register("leaving")
    response = await server.client.delete(f"/api/admin/users/{user['id']}", headers=bearer(admin_token))
    assert response.status_code == 204
    assert not await assert_refused_everywhere(server, token, "deleted user")
    # The next account must not inherit the id, or the old token (sub, ver 0, role user) would be theirs.
    next_token, newcomer = await server.register("newcomer")
    assert newcomer["id"] != user["id"]
    assert not await assert_refused_everywhere(server, token, "deleted user, after a new registration")
    assert (await rest_status(server, next_token)).json()["id"] == newcomer["id"]


async def test_a_demoted_admins_token_is_401_everywhere_and_their_new_one_is_a_users(make_server):
    server = await make_server(auth={"jwt_secret": SECRET}, websocket={"reauth_interval": 0.1})
    root_token, _ = await server.admin("root")
    second_token, second = await server.admin("second")
    _, alice = await server.register("alice")
    watcher = Client(await websocket_connect(f"{server.ws_url}?token={second_token}&userId={alice['id']}"))
    try:
        assert (await watcher.next_of("hello"))["data"]["userId"] == alice["id"]
        response = await server.client.put(
            f"/api/admin/users/{second['id']}/role", headers=bearer(root_token), json={"role": "user"}
        )
        assert response.status_code == 200 and response.json()["role"] == "user"
        # The socket that watched Alice's channel is closed within the re-authentication interval.
        while (await watcher.next(timeout=10)) is not None:
            pass
        assert watcher.conn.close_code == 4401
    finally:
        watcher.close()
    problems = await assert_refused_everywhere(server, second_token, "demoted admin", "/api/admin/stats")
    problems += await assert_refused_everywhere(server, second_token, "demoted admin", "/api/admin/users")
    assert not problems, "\n".join(problems)
    login = await server.client.post("/api/auth/login", json={"username": "second", "password": TEST_PASSWORD})
    new_token = login.json()["token"]
    assert claims_of(new_token)["role"] == "user"
    assert_error(await rest_status(server, new_token, "/api/admin/stats"), 403, "forbidden")
    assert await ws_open(server, new_token, header=True, query=f"userId={alice['id']}") == 403


async def test_a_promoted_users_old_token_is_401_everywhere(server):
    root_token, _ = await server.admin("root")
    token, user = await server.register("rising")
    response = await server.client.put(f"/api/admin/users/{user['id']}/role", headers=bearer(root_token), json={"role": "admin"})
    assert response.status_code == 200
    assert not await assert_refused_everywhere(server, token, "promoted user")

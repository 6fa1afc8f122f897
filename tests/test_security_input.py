"""Hostile input: stored and answered verbatim, never executed; or refused in the error shape, no row changed.

Every string field of the bodies (register, login, profile, products, articles, roles, send) and
every query parameter (q, limit, offset, role, before, format) meets the same payloads: SQL
metacharacters and injections, LIKE wildcards, quotes, backslashes and backticks, null bytes,
emoji, right-to-left and zero-width text, HTML. Then lengths at and past each limit, wrong
types, huge and odd numbers, JSON nested very deep, bodies past the size limit, wrong
Content-Types, and unpaired surrogates. Each test runs on SQLite and on MariaDB and expects the
same answers from both (a null byte, for one, is stored and returned by both).
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from plugins.auth import usernames
from tests.support.server import TEST_PASSWORD, bearer
from tests.support.ws import Client, connect

TABLES = ("users", "products", "articles", "wa_sessions", "chats", "messages", "schema_migrations")
SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}

# Payloads made only of ASCII: a search must match exactly the names that contain them.
ASCII_PAYLOADS = {
    "drop table": "'; DROP TABLE users; --",
    "or 1=1": "' OR '1'='1",
    "double quotes": '" OR ""="',
    "union select": "' UNION SELECT username, password_hash FROM users --",
    "stacked delete": "1; DELETE FROM products; --",
    "comment": "admin'/*",
    "percent": "%",
    "underscore": "_",
    "like escape": "!%_!",
    "backslash": "\\",
    "backslash quote": "\\'",
    "backslash zero": "\\0",
    "backticks": "`users`",
    "backtick drop": "`; DROP TABLE products; --",
    "attach": "'; ATTACH DATABASE '/tmp/wamulti-pwned.db' AS pwned; --",
    "sleep": "' OR SLEEP(5) --",
    "semicolon": ";",
    "mongo": '{"$ne": null}',
    "template": "{{7*7}} ${7*7} %s %n",
    "html": "<script>alert(1)</script>",
    "html attribute": '"><img src=x onerror=alert(1)>',
    "newlines": "line1\r\nline2\ttab",
    "escape sequence": "\x1b[31mred\x07",
    "padded": "  padded  ",
}
UNICODE_PAYLOADS = {
    "null byte": "\x00",
    "null inside": "a\x00b",
    "emoji": "😀 👩‍👩‍👧 🏳️‍🌈",
    "right to left": "مرحبا \u202eevil\u202c עברית",
    "zero width": "a\u200bb\ufeffc",
    "combining": "e\u0301\u0301\u0301",
    "astral": "𝕌𝕟𝕚𝕔𝕠𝕕𝕖 𠜎",
    "latin": "Ärger ß ŒUVRE",
}
PAYLOADS = {**ASCII_PAYLOADS, **UNICODE_PAYLOADS}
WRONG_TYPES = {"number": 123, "float": 1.5, "bool": True, "null": None, "list": ["x"], "empty list": [],
               "object": {"$gt": ""}, "empty object": {}}


async def snapshot(server: Any) -> dict[str, list[dict[str, Any]]]:
    db = server.app.db
    return {table: await db.fetch_all(f"SELECT * FROM {table} ORDER BY 1, 2") for table in TABLES}


def shape_problem(response: httpx.Response, statuses: tuple[int, ...]) -> str | None:
    """None when ``response`` is one of ``statuses`` in the error shape of docs/api.md."""
    if response.status_code not in statuses:
        return f"{response.status_code}, expected one of {statuses}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if set(body) != {"error"} or not isinstance(error, dict) or error.get("status") != response.status_code:
        return f"not the error shape: {response.text[:200]}"
    codes = {400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict", 413: "payload_too_large",
             422: "validation_failed", 429: "rate_limited"}
    if error.get("code") != codes[response.status_code] or not error.get("message"):
        return f"wrong code or no message: {response.text[:200]}"
    if response.status_code == 422 and not isinstance(error.get("fields"), dict):
        return f"a 422 without fields: {response.text[:200]}"
    if "Traceback" in response.text:
        return "a traceback in the answer"
    return None


class Check:
    """Collects every problem of a run, so one failure shows all the others too."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.problems: list[str] = []

    async def refused(self, where: str, send: Any, statuses: tuple[int, ...] = (400, 422)) -> httpx.Response:
        before = await snapshot(self.server)
        response = await send()
        problem = shape_problem(response, statuses)
        if problem:
            self.problems.append(f"{where}: {problem}")
        elif await snapshot(self.server) != before:
            self.problems.append(f"{where}: refused with {response.status_code}, yet a row changed")
        return response

    def equal(self, where: str, got: Any, want: Any) -> None:
        if got != want:
            self.problems.append(f"{where}: got {got!r}, expected {want!r}")

    def done(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems)


@pytest.fixture
async def server(make_server: Any) -> Any:
    return await make_server(whatsapp=SESSION)


@pytest.fixture
async def admin(server: Any) -> dict[str, str]:
    token, _ = await server.admin()
    return bearer(token)


async def raw_post(server: Any, path: str, body: bytes | str, headers: dict[str, str], method: str = "POST") -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await server.client.request(method, path, content=content, headers={"Content-Type": "application/json", **headers})


# -- free text: every payload stored and answered verbatim ----------------------------------------
async def test_free_text_fields_store_and_answer_every_payload_verbatim(server, admin):
    check = Check(server)
    db = server.app.db
    token, user = await server.register("writer")
    for name, payload in PAYLOADS.items():
        # products: name and description
        response = await server.client.post("/api/products", headers=admin, json={"name": payload, "description": payload})
        if response.status_code != 201:
            check.problems.append(f"product {name}: {response.status_code} {response.text[:200]}")
            continue
        product = response.json()
        check.equal(f"product {name} answer", (product["name"], product["description"]), (payload, payload))
        again = (await server.client.get(f"/api/products/{product['id']}")).json()
        check.equal(f"product {name} read back", (again["name"], again["description"]), (payload, payload))
        row = await db.fetch_one("SELECT name, description FROM products WHERE id = ?", (product["id"],))
        check.equal(f"product {name} row", (row["name"], row["description"]), (payload, payload))
        # articles: title, content and author
        response = await server.client.post(
            "/api/articles", headers=admin, json={"title": payload, "content": payload, "author": payload}
        )
        article = response.json()
        check.equal(f"article {name}", (response.status_code, article.get("title"), article.get("content"), article.get("author")),
                    (201, payload, payload, payload))
        again = (await server.client.get(f"/api/articles/{article.get('id')}")).json()
        check.equal(f"article {name} read back", (again.get("title"), again.get("content")), (payload, payload))
        # the updates take them too
        response = await server.client.put(f"/api/products/{product['id']}", headers=admin, json={"description": payload + payload})
        check.equal(f"product update {name}", response.json().get("description"), payload + payload)
        # profile and registration: fullName
        response = await server.client.put("/api/user/profile", headers=bearer(token), json={"fullName": payload})
        check.equal(f"profile {name}", (response.status_code, response.json().get("fullName")), (200, payload))
        profile = (await server.client.get("/api/user/profile", headers=bearer(token))).json()
        check.equal(f"profile {name} read back", profile["fullName"], payload)
        _, registered = await server.register(fullName=payload)
        check.equal(f"register {name}", registered["fullName"], payload)
        row = await db.fetch_one("SELECT full_name FROM users WHERE id = ?", (registered["id"],))
        check.equal(f"register {name} row", row["full_name"], payload)
    # Nothing was executed: every table is still there, and only what was sent was added.
    check.equal("products", await server.count("products"), len(PAYLOADS))
    check.equal("articles", await server.count("articles"), len(PAYLOADS))
    check.equal("users", await server.count("users"), 2 + len(PAYLOADS))
    check.done()


async def test_html_in_stored_text_is_answered_as_json_data(server, admin):
    html = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'
    response = await server.client.post("/api/articles", headers=admin, json={"title": html, "content": html, "author": html})
    assert response.status_code == 201
    listed = await server.client.get("/api/articles")
    for answer in (response, await server.client.get(f"/api/articles/{response.json()['id']}"), listed):
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    article = listed.json()["items"][0]
    assert (article["title"], article["content"], article["author"]) == (html, html, html)  # unescaped: the UI escapes it
    assert "&lt;" not in listed.text


async def test_passwords_are_taken_verbatim(server):
    check = Check(server)
    for number, (name, payload) in enumerate(PAYLOADS.items()):
        password = (payload + "-password")[:128]
        username = f"password_{number}"
        response = await server.client.post("/api/auth/register", json={"username": username, "password": password})
        if response.status_code != 201:
            check.problems.append(f"register with a {name} password: {response.status_code} {response.text[:200]}")
            continue
        login = await server.client.post("/api/auth/login", json={"username": username, "password": password})
        check.equal(f"login with the {name} password", login.status_code, 200)
        wrong = await server.client.post("/api/auth/login", json={"username": username, "password": password.replace(payload, "", 1) or "x"})
        check.equal(f"login without the {name} part", wrong.status_code, 401)
    check.done()


# -- restricted strings: refused in the error shape, or accepted verbatim ------------------------
async def test_restricted_fields_refuse_payloads_and_change_no_row(server, admin):
    check = Check(server)
    token, user = await server.register("target", email="target@example.com")
    product = (await server.client.post("/api/products", headers=admin, json={"name": "Mug"})).json()
    for name, payload in PAYLOADS.items():
        if usernames.is_valid(usernames.canonical(payload)):  # "  padded  ": stored in its canonical form
            registered = await server.client.post("/api/auth/register", json={"username": payload, "password": TEST_PASSWORD})
            check.equal(f"register username {name}", (registered.status_code, registered.json()["user"]["username"]),
                        (201, usernames.canonical(payload)))
        else:
            await check.refused(f"register username {name}", lambda: server.client.post(
                "/api/auth/register", json={"username": payload, "password": TEST_PASSWORD}))
        await check.refused(f"register email {name}", lambda: server.client.post(
            "/api/auth/register", json={"username": "newcomer", "password": TEST_PASSWORD, "email": payload}))
        await check.refused(f"profile email {name}", lambda: server.client.put(
            "/api/user/profile", headers=bearer(token), json={"email": payload}))
        await check.refused(f"product image {name}", lambda: server.client.post(
            "/api/products", headers=admin, json={"name": "x", "image": payload}))
        await check.refused(f"product price {name}", lambda: server.client.put(
            f"/api/products/{product['id']}", headers=admin, json={"price": payload}))
        await check.refused(f"article image {name}", lambda: server.client.post(
            "/api/articles", headers=admin, json={"title": "x", "image": "http://example.com/ x" + payload}))
        await check.refused(f"role {name}", lambda: server.client.put(
            f"/api/admin/users/{user['id']}/role", headers=admin, json={"role": payload}))
        await check.refused(f"send to {name}", lambda: server.client.post(
            f"/api/whatsapp/send/{user['id']}", headers=bearer(token), json={"to": payload, "message": "hi"}))
        # a valid recipient and any text: the session is not connected, nothing is stored
        await check.refused(f"send message {name}", lambda: server.client.post(
            f"/api/whatsapp/send/{user['id']}", headers=bearer(token), json={"to": "+79990000002", "message": payload}),
            statuses=(409,))
        # logging in with an injection never signs anyone in
        for body in ({"username": payload, "password": payload or "x"}, {"username": "target", "password": payload},
                     {"username": "target' --", "password": payload}, {"username": "target", "password": "' OR '1'='1"}):
            await check.refused(f"login {name} {body}", lambda: server.client.post("/api/auth/login", json=body),
                                statuses=(401, 422, 429))
    check.done()


async def test_searches_take_metacharacters_literally(server, admin):
    check = Check(server)
    token, _ = await server.register("searcher")
    names = [*PAYLOADS.values(), "plain", "a%b", "a_b", "a!b", "a\\b", "it's", "tab\there"]
    for text in names:
        assert (await server.client.post("/api/products", headers=admin, json={"name": text})).status_code == 201
        assert (await server.client.post("/api/articles", headers=admin, json={"title": text})).status_code == 201
        await server.register(fullName=text)
    for name, q in PAYLOADS.items():
        for path, key in (("/api/products", "name"), ("/api/articles", "title"), ("/api/admin/users", "fullName")):
            if "\x00" in q:  # SQLite's LIKE would stop at it, MySQL's collation ignore it: refused on both
                await check.refused(f"{path}?q={name}", lambda: server.client.get(path, params={"q": q}, headers=admin),
                                    statuses=(422,))
                continue
            response = await server.client.get(path, params={"q": q, "limit": 200}, headers=admin)
            if response.status_code != 200:
                check.problems.append(f"{path}?q={name}: {response.status_code} {response.text[:200]}")
                continue
            items = response.json()["items"]
            if q not in [item[key] for item in items]:
                check.problems.append(f"{path}?q={name}: does not find its own text")
            if name not in ASCII_PAYLOADS:
                continue  # MySQL's collation folds and ignores some characters that Python compares
            if path == "/api/admin/users":  # q also searches usernames and emails
                strays = [i for i in items if not any(q.lower() in i[k].lower() for k in ("username", "fullName", "email"))]
                check.equal(f"{path}?q={name} finds only matches", strays, [])
            else:  # wildcards and quotes are plain characters
                check.equal(f"{path}?q={name}", sorted(i[key] for i in items), sorted(n for n in names if q.lower() in n.lower()))
    check.done()


async def test_query_parameters_refuse_payloads_and_change_no_row(server, admin):
    check = Check(server)
    token, user = await server.register("querier")
    lists = ("/api/products", "/api/articles", "/api/admin/users", "/api/admin/whatsapp-sessions",
             f"/api/whatsapp/chats/{user['id']}", f"/api/whatsapp/chats/{user['id']}/79990000001@c.us/messages")
    for name, payload in PAYLOADS.items():
        for path in lists:
            headers = admin if "/admin/" in path else bearer(token)
            for param in ("limit", "offset"):
                await check.refused(f"{path}?{param}={name}", lambda: server.client.get(path, params={param: payload}, headers=headers),
                                    statuses=(422,))
        await check.refused(f"role={name}", lambda: server.client.get("/api/admin/users", params={"role": payload}, headers=admin),
                            statuses=(422,))
        await check.refused(f"format={name}", lambda: server.client.get(
            f"/api/whatsapp/qr/{user['id']}", params={"format": payload}, headers=bearer(token)), statuses=(422,))
        await check.refused(f"before={name}", lambda: server.client.get(
            f"/api/whatsapp/chats/{user['id']}/79990000001@c.us/messages", params={"before": payload}, headers=bearer(token)),
            statuses=(422,))
        await check.refused(f"unknown parameter {name}", lambda: server.client.get("/api/products", params={payload or "x": "1"}),
                            statuses=(422,))
        # a chat id is any text in the path: a lookup that finds nothing
        response = await server.client.get(f"/api/whatsapp/chats/{user['id']}/{quote(payload, safe='') or '%20'}/messages",
                                           headers=bearer(token))
        check.equal(f"chat id {name}", (response.status_code, response.json().get("items")), (200, []))
    check.done()


# -- lengths ------------------------------------------------------------------------------------------
async def test_each_limit_holds_at_its_length_and_refuses_one_more(server, admin):
    check = Check(server)
    token, user = await server.register("lengths")
    product = (await server.client.post("/api/products", headers=admin, json={"name": "Mug"})).json()
    article = (await server.client.post("/api/articles", headers=admin, json={"title": "News"})).json()
    url = "https://example.com/" + "i" * (2048 - len("https://example.com/"))
    fields = [
        ("product name", "PUT", f"/api/products/{product['id']}", admin, "name", 200, "😀"),
        ("product description", "PUT", f"/api/products/{product['id']}", admin, "description", 10_000, "😀"),
        ("product image", "PUT", f"/api/products/{product['id']}", admin, "image", url, "i"),
        ("article title", "PUT", f"/api/articles/{article['id']}", admin, "title", 200, "𝕌"),
        ("article author", "PUT", f"/api/articles/{article['id']}", admin, "author", 200, "ß"),
        ("article content", "PUT", f"/api/articles/{article['id']}", admin, "content", 200_000, "x"),
        ("profile fullName", "PUT", "/api/user/profile", bearer(token), "fullName", 200, "😀"),
    ]
    for label, method, path, headers, field, limit, char in fields:
        value = limit if isinstance(limit, str) else char * limit
        response = await server.client.request(method, path, headers=headers, json={field: value})
        check.equal(f"{label} at its limit", (response.status_code, response.json().get(field)), (200, value))
        await check.refused(f"{label} past its limit", lambda: server.client.request(
            method, path, headers=headers, json={field: value + char}), statuses=(422,))
        await check.refused(f"{label} of 10,000 characters and more", lambda: server.client.request(
            method, path, headers=headers, json={field: value + char * 10_001}), statuses=(422,))
    # registration: username 3..32, password 8..128 characters and 72 bytes, fullName 200, email 254
    response = await server.client.post("/api/auth/register", json={"username": "u" * 32, "password": "p" * 72, "fullName": "😀" * 200})
    check.equal("register at every limit", response.status_code, 201)
    for body in ({"username": "u" * 33}, {"username": "uu"}, {"password": "p" * 73}, {"password": "é" * 37},
                 {"password": "p" * 129}, {"password": "p" * 7},
                 {"password": "p" * 100_000}, {"fullName": "x" * 201}, {"email": "a" * 250 + "@example.com"}):
        full = {"username": "another", "password": TEST_PASSWORD, **body}
        await check.refused(f"register {list(body)} of {len(next(iter(body.values())))}", lambda: server.client.post(
            "/api/auth/register", json=full), statuses=(422,))
    await check.refused("login password of 100,000", lambda: server.client.post(
        "/api/auth/login", json={"username": "another", "password": "p" * 100_000}), statuses=(422,))
    await check.refused("q of 201", lambda: server.client.get("/api/products", params={"q": "q" * 201}), statuses=(422,))
    response = await server.client.get("/api/products", params={"q": "😀" * 200})
    check.equal("q of 200", response.status_code, 200)
    await check.refused("a message at its limit, not connected", lambda: server.client.post(
        f"/api/whatsapp/send/{user['id']}", headers=bearer(token), json={"to": "+79990000002", "message": "m" * 65_536}),
        statuses=(409,))
    await check.refused("a message past its limit", lambda: server.client.post(
        f"/api/whatsapp/send/{user['id']}", headers=bearer(token), json={"to": "+79990000002", "message": "m" * 65_537}),
        statuses=(422,))
    check.done()


# -- types and numbers ------------------------------------------------------------------------------
async def test_wrong_types_are_422_naming_the_field_and_change_no_row(server, admin):
    check = Check(server)
    token, user = await server.register("types")
    product = (await server.client.post("/api/products", headers=admin, json={"name": "Mug"})).json()
    article = (await server.client.post("/api/articles", headers=admin, json={"title": "News"})).json()
    bodies = [
        ("POST", "/api/auth/register", {}, {"username": "typed", "password": TEST_PASSWORD, "fullName": "", "email": ""}),
        ("POST", "/api/auth/login", {}, {"username": "types", "password": TEST_PASSWORD}),
        ("PUT", "/api/user/profile", bearer(token), {"fullName": "", "email": "", "password": TEST_PASSWORD,
                                                     "currentPassword": TEST_PASSWORD}),
        ("POST", "/api/products", admin, {"name": "x", "description": "", "price": "1.00", "points": 1, "image": ""}),
        ("PUT", f"/api/products/{product['id']}", admin, {"name": "x", "price": "1.00", "points": 1}),
        ("POST", "/api/articles", admin, {"title": "x", "content": "", "author": "a", "image": ""}),
        ("PUT", f"/api/articles/{article['id']}", admin, {"title": "x", "content": ""}),
        ("PUT", f"/api/admin/users/{user['id']}/role", admin, {"role": "user"}),
        ("POST", f"/api/whatsapp/send/{user['id']}", bearer(token), {"to": "+79990000002", "message": "hi"}),
    ]
    for method, path, headers, valid in bodies:
        for field in valid:
            for kind, value in WRONG_TYPES.items():
                if (field, kind) in (("price", "number"), ("price", "float"), ("points", "number")):
                    continue  # a number is the right type there
                body = {**valid, field: value}
                response = await check.refused(f"{method} {path} {field}={kind}", lambda: server.client.request(
                    method, path, headers=headers, json=body), statuses=(422,))
                if response.status_code == 422 and field not in response.json()["error"]["fields"]:
                    check.problems.append(f"{method} {path} {field}={kind}: the 422 does not name {field}")
        for top in ([valid], "text", 5, None, True):
            await check.refused(f"{method} {path} body {top!r}", lambda: raw_post(
                server, path, json.dumps(top), headers, method), statuses=(422,))
        await check.refused(f"{method} {path} with an unknown field", lambda: server.client.request(
            method, path, headers=headers, json={**valid, "id": 1, "role": "admin", "points": 10**6}), statuses=(422,))
    check.done()


async def test_huge_and_odd_numbers_are_refused_or_stored_exactly(server, admin):
    check = Check(server)
    product = (await server.client.post("/api/products", headers=admin, json={"name": "Mug"})).json()
    path = f"/api/products/{product['id']}"
    refused = {
        "price": ["1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1" + "0" * 30, "-1", "-0.01", "10000000000",
                  "0.001", "1e-7", '"1e5"', '"NaN"', '"Infinity"', '"0x10"', '"1,50"', '" "', '""', '"-0"',
                  '"9999999999.999"', "1" + "0" * 5000],
        "points": ["1e309", "NaN", "Infinity", "-Infinity", str(2**31), str(10**30), "-1", "1.0", "1.5", "1e2", '"5"',
                   "1" + "0" * 5000, str(-(2**63))],
    }
    for field, literals in refused.items():
        for literal in literals:
            await check.refused(f"{field}={literal[:40]}", lambda: raw_post(
                server, path, f'{{"{field}": {literal}}}', admin, method="PUT"), statuses=(400, 422))
    stored = {
        '"price": -0': "0.00", '"price": 0.1': "0.10", '"price": 9999999999.99': "9999999999.99",
        '"price": "19.9"': "19.90", '"price": 1e2': "100.00", '"price": 1e5': "100000.00", '"points": -0': 0, f'"points": {2**31 - 1}': 2**31 - 1,
    }
    for literal, want in stored.items():
        response = await raw_post(server, path, "{" + literal + "}", admin, method="PUT")
        field = literal.split('"')[1]
        check.equal(literal, (response.status_code, response.json().get(field)), (200, want))
        check.equal(f"{literal} read back", (await server.client.get(path)).json()[field], want)
    # list parameters: huge, negative, fractional or spelled-out numbers
    for value in ("1e309", "NaN", "Infinity", "-1", "-9223372036854775809", "9223372036854775808", "1" + "0" * 30,
                  "9" * 5000, "1.5", "1e3", "0x10", "", " ", "²", "1 OR 1=1"):
        for param in ("limit", "offset"):
            if param == "limit" and value in ("9223372036854775808", "1" + "0" * 30):
                continue  # a large limit is capped, not refused (docs/api.md)
            await check.refused(f"{param}={value[:40]}", lambda: server.client.get("/api/products", params={param: value}),
                                statuses=(422,))
    for value, want in (("9223372036854775807", 9223372036854775807), ("-0", 0), ("0", 0), ("+3", 3)):
        response = await server.client.get("/api/products", params={"offset": value})
        check.equal(f"offset={value}", (response.status_code, response.json().get("offset"), response.json().get("items")),
                    (200, want, [] if want else response.json().get("items")))
    response = await server.client.get("/api/products", params={"limit": "1" + "0" * 30})
    check.equal("a huge limit is capped", (response.status_code, response.json().get("limit")), (200, 200))
    # ids in paths past any BIGINT
    for path in ("/api/products/" + "9" * 40, "/api/articles/" + "9" * 40, "/api/admin/users/" + "9" * 40 + "/role"):
        await check.refused(path, lambda: server.client.request("PUT", path, headers=admin, json={"name": "x"} if "products" in path
                                                                else {"title": "x"} if "articles" in path else {"role": "user"}),
                            statuses=(404,))
    for path in ("/api/whatsapp/status/" + "9" * 40, "/api/whatsapp/status/9223372036854775808",
                 "/api/whatsapp/chats/" + "9" * 30, "/api/whatsapp/clear-session/" + "9" * 30):
        method = "POST" if "clear" in path else "GET"
        await check.refused(path, lambda: server.client.request(method, path, headers=admin), statuses=(404,))
    check.done()


async def test_before_past_any_timestamp_is_refused(server):
    token, user = await server.register("before")
    check = Check(server)
    for value in ("1e309", "-1e309", "1e30", "-1e30", "Infinity"):
        await check.refused(f"before={value}", lambda: server.client.get(
            f"/api/whatsapp/chats/{user['id']}/79990000001@c.us/messages", params={"before": value}, headers=bearer(token)),
            statuses=(422,))
    check.done()


# -- structure, size and encoding of the body ------------------------------------------------------
async def test_json_nested_very_deep_is_400_or_422_never_500(server, admin):
    check = Check(server)
    token, user = await server.register("deep")
    targets = [("POST", "/api/products", admin), ("POST", "/api/auth/register", {}), ("PUT", "/api/user/profile", bearer(token)),
               ("PUT", f"/api/admin/users/{user['id']}/role", admin), ("POST", f"/api/whatsapp/send/{user['id']}", bearer(token))]
    for depth in (10_000, 100_000):
        for method, path, headers in targets:
            for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth,
                         '{"name": ' + "[" * depth + "]" * depth + "}"):
                await check.refused(f"{method} {path} nested {depth} deep", lambda: raw_post(server, path, body, headers, method),
                                    statuses=(400, 422))
    for depth in (50, 500):  # deep, yet within what the parser takes: marshmallow meets it in a field
        for body in ('{"name": ' + "[" * depth + "]" * depth + "}", '{"name": "x", "description": ' + '{"a":' * depth + "1" + "}" * depth + "}",
                     '{"name": "x", "extra": ' + "[" * depth + "]" * depth + "}"):
            await check.refused(f"a field nested {depth} deep", lambda: raw_post(server, "/api/products", body, admin),
                                statuses=(422,))
    check.done()


async def test_bodies_past_the_size_limit_are_413_and_change_no_row(make_server):
    server = await make_server(whatsapp=SESSION, server={"max_body_bytes": 4096})
    token, _ = await server.admin()
    admin = bearer(token)
    check = Check(server)
    big = json.dumps({"name": "x", "description": "d" * 5000})
    await check.refused("over the limit", lambda: raw_post(server, "/api/products", big, admin), statuses=(413,))

    async def chunks():
        for _ in range(10):
            yield b" " * 1000
        yield big.encode()

    await check.refused("over the limit, chunked", lambda: server.client.post(
        "/api/products", content=chunks(), headers={**admin, "Content-Type": "application/json"}), statuses=(413,))
    await check.refused("over the limit, anonymous", lambda: raw_post(server, "/api/auth/register", big, {}), statuses=(413,))
    await check.refused("over the limit, no token", lambda: raw_post(server, "/api/products", big, {}), statuses=(401, 413))
    fits = json.dumps({"name": "x", "description": "d" * 3900})
    response = await raw_post(server, "/api/products", fits, admin)
    check.equal("just under the limit", response.status_code, 201)
    check.done()


async def test_bodies_not_sent_as_json_are_400_and_change_no_row(server, admin):
    check = Check(server)
    form = "name=x&description=y"
    for content_type, body in (("text/plain", '{"name": "x"}'), ("application/x-www-form-urlencoded", form),
                               ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--'),
                               ("application/xml", "<name>x</name>"), ("text/html", "<b>x</b>"), ("application/jsonp", '{"name": "x"}'),
                               ("application/javascript", '{"name": "x"}'), ("", '{"name": "x"}'), ("*/*", '{"name": "x"}'),
                               ("application/json", form), ("application/json", "<name>x</name>"),
                               ("application/json", "'single quotes'"), ("application/json", '{"name": "x",}'),
                               ("application/json", '{"name": "x"} {"name": "y"}'), ("application/json", "\x00"),
                               ("application/json", "   ")):
        headers = {**admin, "Content-Type": content_type}
        await check.refused(f"Content-Type {content_type!r} body {body[:20]!r}", lambda: server.client.post(
            "/api/products", content=body.encode(), headers=headers), statuses=(400,))
    for raw in (b'{"name": "\xff\xfe"}', b'{"name": "\xc3"}', b'{"name": "\xed\xa0\x80"}', b'{"name": "\\ud800"}',
                b'{"name": "ok", "\\udfff": 1}', b'{"name": "\\ud83d"}'):
        await check.refused(f"invalid text {raw!r}", lambda: server.client.post(
            "/api/products", content=raw, headers={**admin, "Content-Type": "application/json"}), statuses=(400,))
    # a surrogate pair is one character, and fine
    response = await raw_post(server, "/api/products", b'{"name": "\\ud83d\\ude00"}', admin)
    check.equal("an escaped surrogate pair", (response.status_code, response.json().get("name")), (201, "😀"))
    check.done()


# -- the websocket ------------------------------------------------------------------------------------
async def test_websocket_commands_refuse_bad_input_and_change_no_row(server):
    check = Check(server)
    token, user = await server.register("socketeer")
    client: Client = await connect(server, token)
    try:
        await client.next_of("hello")

        async def reply_to(frame: str) -> dict:
            before = await snapshot(server)
            client.send(frame)
            reply = (await client.next_of("reply"))["data"]
            if await snapshot(server) != before:
                check.problems.append(f"{frame[:60]}: a row changed")
            return reply

        def expect_error(where: str, reply: dict, statuses: tuple[int, ...]) -> None:
            error = reply.get("error") or {}
            if reply.get("ok") is not False or error.get("status") not in statuses or not error.get("code"):
                check.problems.append(f"{where}: {str(reply)[:200]}, expected an error in {statuses}")

        for name, payload in PAYLOADS.items():
            reply = await reply_to(json.dumps({"type": "messages.list", "data": {"chatId": payload or " "}, "ref": "m"}))
            check.equal(f"messages.list chatId {name}", (reply.get("ok"), (reply.get("data") or {}).get("items")), (True, []))
            reply = await reply_to(json.dumps({"type": "message.send", "data": {"to": payload, "message": "hi"}, "ref": "s"}))
            expect_error(f"message.send to {name}", reply, (422,))
            reply = await reply_to(json.dumps({"type": "message.send", "data": {"to": "+79990000002", "message": payload}}))
            expect_error(f"message.send message {name}", reply, (409,))
            for field in ("limit", "offset", "before"):
                reply = await reply_to(json.dumps({"type": "messages.list", "data": {"chatId": "x@c.us", field: payload}}))
                expect_error(f"messages.list {field}={name}", reply, (422,))
            reply = await reply_to(json.dumps({"type": payload, "data": {}}))
            expect_error(f"command type {name}", reply, (400,))
        for value in ("1e309", "1" + "0" * 30, "-1", "NaN", '"x"', "[]", "{}", "true", "null"):
            for field in ("limit", "offset"):
                reply = await reply_to(f'{{"type": "chats.list", "data": {{"{field}": {value}}}}}')
                if value == "null":
                    continue  # an absent value takes the default
                if field == "limit" and value == "1" + "0" * 30:
                    check.equal("a huge limit is capped", (reply.get("data") or {}).get("limit"), 200)
                    continue
                expect_error(f"chats.list {field}={value}", reply, (422,))
        for frame in ("[" * 30_000 + "]" * 30_000, '{"type": "ping", "data": ' + "[" * 10_000 + "]" * 10_000 + "}",
                      '{"type": "messages.list", "data": {"chatId": "\\ud800"}}', "{not json", "null", "[]", '"text"',
                      '{"type": "ping", "data": [1]}', '{"type": "ping", "ref": {"a": 1}}', '{"type": 5}'):
            reply = await reply_to(frame)
            expect_error(f"frame {frame[:40]!r}", reply, (400, 422))
        assert (await client.command("ping"))["ok"] is True, "the socket stays open and answers"
        # A frame past websocket.max_message_bytes closes the socket (Tornado sends 1009 and drops the
        # connection, so the code may not arrive), as a body past the limit is a 413.
        before = await snapshot(server)
        client.send(json.dumps({"type": "message.send", "data": {"to": "+79990000002", "message": "m" * 70_000}}))
        while (frame := await client.next()) is not None:
            check.equal("no answer to an oversized frame", frame["type"], "pong")  # the pong of the ping above
        check.equal("an oversized frame closes the socket", client.conn.close_code in (1009, None), True)
        check.equal("an oversized frame changes no row", await snapshot(server), before)
    finally:
        client.close()
    check.done()


async def test_websocket_query_parameters_are_checked(server):
    admin_token, _ = await server.admin()
    check = Check(server)
    from tornado.httpclient import HTTPClientError
    from tornado.websocket import websocket_connect

    for value, status in (("²", 422), ("٣", 422), ("1 OR 1=1", 422), ("-1", 422), ("9" * 40, 404),
                          ("9223372036854775808", 404), ("%00", 422)):
        try:
            conn = await websocket_connect(f"{server.ws_url}?token={admin_token}&userId={quote(value)}")
            conn.close()
            check.problems.append(f"userId={value}: the socket opened")
        except HTTPClientError as exc:
            body = json.loads(exc.response.body)
            check.equal(f"userId={value}", (exc.code, body["error"]["status"]), (status, status))
    check.done()

"""Articles: newest first, search, the default author, admin-only changes, on both databases."""
from __future__ import annotations

from tests.support.server import TEST_PASSWORD, assert_error, bearer

NEWS = {"title": "We are open", "content": "From 9 to 5.", "author": "The team", "image": "http://127.0.0.1/open.png"}


async def create(server, token: str, **fields) -> dict:
    response = await server.client.post("/api/articles", headers=bearer(token), json={**NEWS, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def rows(server) -> list[dict]:
    return await server.app.db.fetch_all("SELECT * FROM articles ORDER BY id")


async def test_admin_publishes_reads_updates_and_deletes_an_article(server):
    token, _ = await server.admin()
    response = await server.client.post("/api/articles", headers=bearer(token), json=NEWS)
    assert response.status_code == 201, response.text
    article = response.json()
    assert response.headers["Location"] == f"/api/articles/{article['id']}"
    assert {k: article[k] for k in NEWS} == NEWS
    assert set(article) == {"id", "title", "content", "author", "image", "created_at", "updated_at"}

    assert (await server.client.get(f"/api/articles/{article['id']}")).json() == article

    await server.app.db.execute(
        "UPDATE articles SET created_at = '2021-06-01 12:00:00', updated_at = '2021-06-01 12:00:00' WHERE id = ?",
        (article["id"],),
    )
    updated = await server.client.put(f"/api/articles/{article['id']}", headers=bearer(token), json={"title": "Closed today"})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["title"] == "Closed today" and body["content"] == NEWS["content"] and body["author"] == "The team"
    assert body["created_at"] == "2021-06-01T12:00:00Z" and body["updated_at"] > "2021-06-01T12:00:00Z"

    assert (await server.client.delete(f"/api/articles/{article['id']}", headers=bearer(token))).status_code == 204
    assert_error(await server.client.get(f"/api/articles/{article['id']}"), 404, "not_found")
    assert_error(await server.client.delete(f"/api/articles/{article['id']}", headers=bearer(token)), 404, "not_found")
    assert await server.count("articles") == 0


async def test_author_defaults_to_full_name_then_username(server):
    token, _ = await server.admin("editor")
    without = {k: v for k, v in NEWS.items() if k != "author"}
    first = await server.client.post("/api/articles", headers=bearer(token), json=without)
    assert first.json()["author"] == "editor"
    await server.client.put("/api/user/profile", headers=bearer(token), json={"fullName": "Eddie Editor"})
    second = await server.client.post("/api/articles", headers=bearer(token), json=without)
    assert second.json()["author"] == "Eddie Editor"
    chosen = await server.client.post("/api/articles", headers=bearer(token), json={**without, "author": "Guest writer"})
    assert chosen.json()["author"] == "Guest writer"
    only_title = await server.client.post("/api/articles", headers=bearer(token), json={"title": "Short"})
    assert only_title.status_code == 201
    assert {k: only_title.json()[k] for k in ("content", "image", "author")} == {"content": "", "image": "", "author": "Eddie Editor"}


async def test_invalid_articles_are_422_naming_the_field_and_insert_nothing(server):
    token, _ = await server.admin()
    await create(server, token)
    before = await rows(server)
    cases = [
        ({"content": "no title"}, "title"),
        ({"title": ""}, "title"),
        ({"title": " \t "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": None}, "title"),
        ({"title": "a", "content": 5}, "content"),
        ({"title": "a", "content": "c" * 200_001}, "content"),
        ({"title": "a", "author": ""}, "author"),
        ({"title": "a", "author": "a" * 201}, "author"),
        ({"title": "a", "author": None}, "author"),
        ({"title": "a", "image": "file:///etc/passwd"}, "image"),
        ({"title": "a", "image": "//example.com/a.png"}, "image"),
        ({"title": "a", "id": 1}, "id"),
        ({"title": "a", "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
        ({"title": "a", "views": 10}, "views"),
    ]
    for body, field in cases:
        response = await server.client.post("/api/articles", headers=bearer(token), json=body)
        error = assert_error(response, 422, "validation_failed")
        assert field in error["fields"], (body, error)
    assert await rows(server) == before


async def test_invalid_updates_are_422_and_change_nothing(server):
    token, _ = await server.admin()
    article = await create(server, token)
    before = await rows(server)
    for body, field in [({}, "_schema"), ({"title": ""}, "title"), ({"image": "nope"}, "image"), ({"created_at": "x"}, "created_at")]:
        response = await server.client.put(f"/api/articles/{article['id']}", headers=bearer(token), json=body)
        assert field in assert_error(response, 422, "validation_failed")["fields"], body
    assert_error(await server.client.put("/api/articles/987654", headers=bearer(token), json={"title": "x"}), 404, "not_found")
    assert await rows(server) == before


async def test_list_is_newest_first_paginated_and_searchable(server):
    token, _ = await server.admin()
    for title in ("Spring sale", "Summer SALE", "Autumn news", "Winter hours"):
        await create(server, token, title=title)
    # Same-second inserts fall back to the id; make the order depend on created_at too.
    await server.app.db.execute("UPDATE articles SET created_at = '2020-01-01 00:00:00' WHERE title = 'Winter hours'")
    listed = (await server.client.get("/api/articles")).json()
    assert [a["title"] for a in listed["items"]] == ["Autumn news", "Summer SALE", "Spring sale", "Winter hours"]
    assert listed["total"] == 4
    page = (await server.client.get("/api/articles", params={"limit": 1, "offset": 1})).json()
    assert [a["title"] for a in page["items"]] == ["Summer SALE"] and (page["limit"], page["offset"]) == (1, 1)
    found = (await server.client.get("/api/articles", params={"q": "sale"})).json()
    assert [a["title"] for a in found["items"]] == ["Summer SALE", "Spring sale"] and found["total"] == 2
    assert (await server.client.get("/api/articles", params={"limit": 500})).json()["limit"] == 200
    for params in ({"offset": -5}, {"limit": -1}, {"limit": "many"}):
        assert_error(await server.client.get("/api/articles", params=params), 422, "validation_failed")


async def test_role_matrix(server):
    admin, _ = await server.admin()
    user, _ = await server.register()
    article = await create(server, admin)
    aid = article["id"]
    tokens = {"anonymous": None, "user": user, "admin": admin}
    matrix = [
        ("GET", "/api/articles", None, {"anonymous": 200, "user": 200, "admin": 200}),
        ("GET", f"/api/articles/{aid}", None, {"anonymous": 200, "user": 200, "admin": 200}),
        ("GET", "/api/articles/999999", None, {"anonymous": 404, "user": 404, "admin": 404}),
        ("POST", "/api/articles", {"title": "New"}, {"anonymous": 401, "user": 403, "admin": 201}),
        ("PUT", f"/api/articles/{aid}", {"title": "Renamed"}, {"anonymous": 401, "user": 403, "admin": 200}),
        ("PUT", "/api/articles/999999", {"title": "Renamed"}, {"anonymous": 401, "user": 403, "admin": 404}),
        ("DELETE", "/api/articles/999999", None, {"anonymous": 401, "user": 403, "admin": 404}),
        ("DELETE", f"/api/articles/{aid}", None, {"anonymous": 401, "user": 403, "admin": 204}),
    ]
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
    for method, path, body, expected in matrix:
        for who in ("anonymous", "user", "admin"):
            before = await rows(server)
            headers = bearer(tokens[who]) if tokens[who] else {}
            response = await server.client.request(method, path, headers=headers, json=body)
            assert response.status_code == expected[who], (method, path, who, response.text)
            if expected[who] >= 400:
                assert_error(response, expected[who], codes[expected[who]])
                assert await rows(server) == before, (method, path, who)


async def test_a_demoted_admin_can_no_longer_publish(server):
    boss, _ = await server.admin("boss")
    _, helper = await server.register("helper")
    promoted = await server.client.put(f"/api/admin/users/{helper['id']}/role", headers=bearer(boss), json={"role": "admin"})
    assert promoted.status_code == 200
    login = await server.client.post("/api/auth/login", json={"username": "helper", "password": TEST_PASSWORD})
    helper_token = login.json()["token"]
    await create(server, helper_token)
    await server.client.put(f"/api/admin/users/{helper['id']}/role", headers=bearer(boss), json={"role": "user"})
    response = await server.client.post("/api/articles", headers=bearer(helper_token), json=NEWS)
    assert_error(response, 401, "unauthorized")
    assert await server.count("articles") == 1

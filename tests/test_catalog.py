"""Products: the list, search and pages, admin-only changes, validation, on both databases."""
from __future__ import annotations

from tests.support.server import assert_error, bearer

MUG = {"name": "Coffee mug", "description": "Holds coffee.", "price": "19.90", "points": 5, "image": "https://example.com/mug.png"}


async def create(server, token: str, **fields) -> dict:
    response = await server.client.post("/api/products", headers=bearer(token), json={**MUG, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def rows(server) -> list[dict]:
    return await server.app.db.fetch_all("SELECT * FROM products ORDER BY id")


async def test_admin_creates_reads_updates_and_deletes_a_product(server):
    token, _ = await server.admin()
    response = await server.client.post("/api/products", headers=bearer(token), json=MUG)
    assert response.status_code == 201, response.text
    product = response.json()
    assert response.headers["Location"] == f"/api/products/{product['id']}"
    assert {k: product[k] for k in MUG} == MUG
    assert set(product) == {"id", "name", "description", "price", "points", "image", "created_at", "updated_at"}
    assert product["created_at"].endswith("Z") and product["created_at"] == product["updated_at"]
    stored = await server.app.db.fetch_one("SELECT price_cents FROM products WHERE id = ?", (product["id"],))
    assert stored["price_cents"] == 1990

    got = await server.client.get(f"/api/products/{product['id']}")
    assert got.status_code == 200 and got.json() == product

    # Make the stored times old, so the update visibly moves updated_at and not created_at.
    await server.app.db.execute(
        "UPDATE products SET created_at = '2020-01-01 00:00:00', updated_at = '2020-01-01 00:00:00' WHERE id = ?",
        (product["id"],),
    )
    updated = await server.client.put(f"/api/products/{product['id']}", headers=bearer(token), json={"price": 5})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["price"] == "5.00"
    assert {k: body[k] for k in ("name", "description", "points", "image")} == {
        k: MUG[k] for k in ("name", "description", "points", "image")
    }
    assert body["created_at"] == "2020-01-01T00:00:00Z"
    assert body["updated_at"] > "2020-01-01T00:00:00Z"

    cleared = await server.client.put(f"/api/products/{product['id']}", headers=bearer(token), json={"image": "", "description": ""})
    assert cleared.status_code == 200 and cleared.json()["image"] == "" and cleared.json()["description"] == ""

    deleted = await server.client.delete(f"/api/products/{product['id']}", headers=bearer(token))
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await server.client.get(f"/api/products/{product['id']}"), 404, "not_found")
    assert_error(await server.client.delete(f"/api/products/{product['id']}", headers=bearer(token)), 404, "not_found")
    assert await server.count("products") == 0


async def test_only_name_is_required_and_defaults_fill_the_rest(server):
    token, _ = await server.admin()
    response = await server.client.post("/api/products", headers=bearer(token), json={"name": "Sticker"})
    assert response.status_code == 201
    body = response.json()
    assert (body["price"], body["points"], body["image"], body["description"]) == ("0.00", 0, "", "")


async def test_price_is_accepted_as_number_or_string_and_answered_with_two_decimals(server):
    token, _ = await server.admin()
    cases = [
        (19.9, "19.90"), ("19.9", "19.90"), ("19.90", "19.90"), (0, "0.00"), ("0", "0.00"), (7, "7.00"),
        (0.1, "0.10"), ("0.01", "0.01"), (" 3.5 ", "3.50"), ("19.900", "19.90"), (1234.56, "1234.56"),
        ("9999999999.99", "9999999999.99"), (9999999999.99, "9999999999.99"),
    ]
    for sent, answered in cases:
        product = await create(server, token, price=sent)
        assert product["price"] == answered, sent
        again = await server.client.get(f"/api/products/{product['id']}")
        assert again.json()["price"] == answered, sent


async def test_invalid_products_are_422_naming_the_field_and_insert_nothing(server):
    token, _ = await server.admin()
    await create(server, token)
    before = await rows(server)
    cases = [
        ({"description": "no name"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": 12}, "name"),
        ({"name": "a", "price": -1}, "price"),
        ({"name": "a", "price": "-0.01"}, "price"),
        ({"name": "a", "price": 1.234}, "price"),
        ({"name": "a", "price": "1.234"}, "price"),
        ({"name": "a", "price": "NaN"}, "price"),
        ({"name": "a", "price": "Infinity"}, "price"),
        ({"name": "a", "price": "1e3"}, "price"),
        ({"name": "a", "price": "1,50"}, "price"),
        ({"name": "a", "price": ""}, "price"),
        ({"name": "a", "price": 1e10}, "price"),
        ({"name": "a", "price": "10000000000"}, "price"),
        ({"name": "a", "price": 10**30}, "price"),
        ({"name": "a", "price": True}, "price"),
        ({"name": "a", "price": [1]}, "price"),
        ({"name": "a", "price": {"amount": 1}}, "price"),
        ({"name": "a", "price": None}, "price"),
        ({"name": "a", "points": -1}, "points"),
        ({"name": "a", "points": 1.5}, "points"),
        ({"name": "a", "points": "3"}, "points"),
        ({"name": "a", "points": True}, "points"),
        ({"name": "a", "points": 2**31}, "points"),
        ({"name": "a", "image": "ftp://example.com/a.png"}, "image"),
        ({"name": "a", "image": "not a url"}, "image"),
        ({"name": "a", "image": "javascript:alert(1)"}, "image"),
        ({"name": "a", "image": "https://example.com/" + "a" * 2048}, "image"),
        ({"name": "a", "description": "x" * 10_001}, "description"),
        ({"name": "a", "id": 7}, "id"),
        ({"name": "a", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"name": "a", "price_cents": 100}, "price_cents"),
        ({"name": "a", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await server.client.post("/api/products", headers=bearer(token), json=body)
        error = assert_error(response, 422, "validation_failed")
        assert field in error["fields"], (body, error)
    for raw in (b'{"name": "a", "price": NaN}', b'{"name": "a", "price": Infinity}', b'{"name": "a", "price": -Infinity}'):
        response = await server.client.post(
            "/api/products", headers={**bearer(token), "Content-Type": "application/json"}, content=raw
        )
        assert "price" in assert_error(response, 422, "validation_failed")["fields"]
    assert await rows(server) == before


async def test_invalid_updates_are_422_and_change_nothing(server):
    token, _ = await server.admin()
    product = await create(server, token)
    before = await rows(server)
    for body, field in [
        ({}, "_schema"),
        ({"name": ""}, "name"),
        ({"price": "-5"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"points": -3}, "points"),
        ({"image": "mailto:a@example.com"}, "image"),
        ({"id": 99}, "id"),
        ({"updated_at": "2030-01-01T00:00:00Z"}, "updated_at"),
        ({"name": "fine", "bogus": 1}, "bogus"),
    ]:
        response = await server.client.put(f"/api/products/{product['id']}", headers=bearer(token), json=body)
        assert field in assert_error(response, 422, "validation_failed")["fields"], body
    malformed = await server.client.put(
        f"/api/products/{product['id']}", headers={**bearer(token), "Content-Type": "application/json"}, content=b"{"
    )
    assert_error(malformed, 400, "bad_request")
    missing = await server.client.put("/api/products/999999", headers=bearer(token), json={"name": "x"})
    assert_error(missing, 404, "not_found")
    assert await rows(server) == before


async def test_list_paginates_searches_and_caps_the_limit(server):
    token, _ = await server.admin()
    for name in ("Coffee mug", "Tea cup", "MUG warmer", "100% cotton bag", "under_score"):
        await create(server, token, name=name)
    everything = (await server.client.get("/api/products")).json()
    assert everything["total"] == 5 and everything["limit"] == 50 and everything["offset"] == 0
    assert [p["name"] for p in everything["items"]] == ["Coffee mug", "Tea cup", "MUG warmer", "100% cotton bag", "under_score"]

    second_page = (await server.client.get("/api/products", params={"limit": 2, "offset": 2})).json()
    assert [p["name"] for p in second_page["items"]] == ["MUG warmer", "100% cotton bag"]
    assert (second_page["total"], second_page["limit"], second_page["offset"]) == (5, 2, 2)

    found = (await server.client.get("/api/products", params={"q": "mug"})).json()
    assert [p["name"] for p in found["items"]] == ["Coffee mug", "MUG warmer"] and found["total"] == 2
    percent = (await server.client.get("/api/products", params={"q": "%"})).json()
    assert [p["name"] for p in percent["items"]] == ["100% cotton bag"]
    underscore = (await server.client.get("/api/products", params={"q": "_"})).json()
    assert [p["name"] for p in underscore["items"]] == ["under_score"]
    nothing = (await server.client.get("/api/products", params={"q": "zebra"})).json()
    assert nothing == {"items": [], "total": 0, "limit": 50, "offset": 0}
    past_the_end = (await server.client.get("/api/products", params={"offset": 10})).json()
    assert past_the_end["items"] == [] and past_the_end["total"] == 5

    capped = await server.client.get("/api/products", params={"limit": 1000})
    assert capped.status_code == 200 and capped.json()["limit"] == 200
    for params, field in [
        ({"offset": -1}, "offset"), ({"limit": -1}, "limit"), ({"limit": "ten"}, "limit"),
        ({"offset": "1.5"}, "offset"), ({"q": "x" * 201}, "q"), ({"sort": "name"}, "sort"),
    ]:
        response = await server.client.get("/api/products", params=params)
        assert field in assert_error(response, 422, "validation_failed")["fields"], params


async def test_ids_that_are_no_product_are_404(server):
    token, _ = await server.admin()
    for path in ("/api/products/0", "/api/products/424242", "/api/products/" + "9" * 30):
        assert_error(await server.client.get(path), 404, "not_found")
        assert_error(await server.client.put(path, headers=bearer(token), json={"name": "x"}), 404, "not_found")
        assert_error(await server.client.delete(path, headers=bearer(token)), 404, "not_found")
    for path in ("/api/products/abc", "/api/products/-1", "/api/products/1/extra"):
        assert_error(await server.client.get(path), 404, "not_found")


async def test_role_matrix(server):
    """Anyone reads; only an administrator writes; a user's and a stranger's writes change nothing."""
    admin, _ = await server.admin()
    user, _ = await server.register()
    product = await create(server, admin)
    pid = product["id"]
    tokens = {"anonymous": None, "user": user, "admin": admin}
    matrix = [
        ("GET", "/api/products", None, {"anonymous": 200, "user": 200, "admin": 200}),
        ("GET", f"/api/products/{pid}", None, {"anonymous": 200, "user": 200, "admin": 200}),
        ("POST", "/api/products", {"name": "New"}, {"anonymous": 401, "user": 403, "admin": 201}),
        ("PUT", f"/api/products/{pid}", {"name": "Renamed"}, {"anonymous": 401, "user": 403, "admin": 200}),
        ("DELETE", f"/api/products/{pid}", None, {"anonymous": 401, "user": 403, "admin": 204}),
    ]
    for method, path, body, expected in matrix:
        for who in ("anonymous", "user", "admin"):
            before = await rows(server)
            headers = bearer(tokens[who]) if tokens[who] else {}
            response = await server.client.request(method, path, headers=headers, json=body)
            assert response.status_code == expected[who], (method, path, who, response.text)
            if expected[who] >= 400:
                assert_error(response, expected[who], {401: "unauthorized", 403: "forbidden"}[expected[who]])
                assert await rows(server) == before, (method, path, who)


async def test_admin_stats_count_products(server):
    admin, _ = await server.admin()
    for _ in range(3):
        await create(server, admin)
    stats = await server.client.get("/api/admin/stats", headers=bearer(admin))
    assert stats.json()["products"] == 3

"""Orders and points (plugins/orders): placing, listing and cancelling orders, administrators'
adjustments, and the invariant that a user's points are the sum of their ledger, under concurrent
requests too; on both databases, over HTTP to a real server."""
from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from server.app import build_app
from tests.support.server import DEFAULT_CONFIG, TEST_PASSWORD, assert_error, bearer, server_with_plugins, test_config

PLUGINS = ["auth", "catalog", "admin", "apikeys", "orders"]
ORDER_FIELDS = {"id", "userId", "productId", "productName", "quantity", "unitPrice", "totalPrice", "pointsPerUnit",
                "points", "status", "created_at", "cancelled_at", "cancelledBy"}
ENTRY_FIELDS = {"id", "delta", "reason", "kind", "orderId", "adminId", "balance", "created_at"}


@pytest.fixture
async def shop(tmp_path, db_url):
    async with server_with_plugins(tmp_path, db_url, PLUGINS) as server:
        yield server


async def add_product(server, admin: str, **fields: Any) -> dict:
    body = {"name": "Coffee mug", "price": "12.50", "points": 7, **fields}
    response = await server.client.post("/api/products", headers=bearer(admin), json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def place(server, token: str, product_id: int, quantity: int = 1) -> dict:
    response = await server.client.post("/api/orders", headers=bearer(token), json={"productId": product_id, "quantity": quantity})
    assert response.status_code == 201, response.text
    return response.json()


async def adjust(server, admin: str, user_id: int, delta: int, reason: str = "test"):
    return await server.client.post(f"/api/admin/users/{user_id}/points", headers=bearer(admin),
                                    json={"delta": delta, "reason": reason})


async def cancel(server, admin: str, order_id: int):
    return await server.client.post(f"/api/admin/orders/{order_id}/cancel", headers=bearer(admin))


async def my_points(server, token: str, query: str = "") -> dict:
    response = await server.client.get(f"/api/user/points{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def whole_history(server, admin: str, user_id: int) -> dict:
    """A user's balance and every ledger entry, page after page, as an administrator reads them."""
    entries, offset = [], 0
    while True:
        response = await server.client.get(f"/api/admin/users/{user_id}/points?limit=7&offset={offset}", headers=bearer(admin))
        assert response.status_code == 200, response.text
        body = response.json()
        entries.extend(body["items"])
        offset += 7
        if offset >= body["total"]:
            assert len(entries) == body["total"]
            return {"points": body["points"], "entries": entries}


async def snapshot(server) -> dict[str, list]:
    db = server.app.db
    return {
        "orders": await db.fetch_all("SELECT * FROM orders ORDER BY id"),
        "points_ledger": await db.fetch_all("SELECT * FROM points_ledger ORDER BY id"),
        "users": await db.fetch_all("SELECT id, points FROM users ORDER BY id"),
    }


async def balances_in_the_database(server) -> dict[int, int]:
    """Every user's points, read from the database, after checking that each is the SUM of the
    user's ledger and that each entry's balance is the running sum of the deltas up to it."""
    db = server.app.db
    sums = await db.fetch_all(
        "SELECT u.id, u.points, COALESCE(SUM(l.delta), 0) AS total FROM users u"
        " LEFT JOIN points_ledger l ON l.user_id = u.id GROUP BY u.id, u.points"
    )
    points = {int(row["id"]): int(row["points"]) for row in sums}
    assert points == {int(row["id"]): int(row["total"]) for row in sums}
    running = dict.fromkeys(points, 0)
    for entry in await db.fetch_all("SELECT user_id, delta, balance FROM points_ledger ORDER BY id"):
        running[int(entry["user_id"])] += int(entry["delta"])
        assert int(entry["balance"]) == running[int(entry["user_id"])], entry
    assert running == points
    return points


# -- placing an order ------------------------------------------------------------------------
async def test_an_order_copies_the_product_and_credits_its_points_with_a_ledger_entry(shop):
    admin, admin_user = await shop.admin()
    token, user = await shop.register("buyer")
    product = await add_product(shop, admin, name="Coffee mug", price="12.50", points=7)

    response = await shop.client.post("/api/orders", headers=bearer(token), json={"productId": product["id"], "quantity": 3})
    assert response.status_code == 201, response.text
    order = response.json()
    assert response.headers["Location"] == f"/api/orders/{order['id']}"
    assert set(order) == ORDER_FIELDS
    assert {k: order[k] for k in ORDER_FIELDS - {"id", "created_at"}} == {
        "userId": user["id"], "productId": product["id"], "productName": "Coffee mug", "quantity": 3,
        "unitPrice": "12.50", "totalPrice": "37.50", "pointsPerUnit": 7, "points": 21, "status": "placed",
        "cancelled_at": None, "cancelledBy": None,
    }
    assert order["created_at"].endswith("Z")

    points = await my_points(shop, token)
    assert points["points"] == 21 and points["userId"] == user["id"] and points["total"] == 1
    [entry] = points["items"]
    assert set(entry) == ENTRY_FIELDS
    assert {k: entry[k] for k in ("delta", "kind", "orderId", "adminId", "balance")} == {
        "delta": 21, "kind": "order", "orderId": order["id"], "adminId": None, "balance": 21}
    assert "Coffee mug" in entry["reason"]
    assert (await shop.client.get("/api/user/profile", headers=bearer(token))).json()["points"] == 21

    # What was bought is kept as it was: a later change of the product changes no order.
    changed = await shop.client.put(f"/api/products/{product['id']}", headers=bearer(admin),
                                    json={"name": "Tea mug", "price": "99.99", "points": 100})
    assert changed.status_code == 200
    again = await shop.client.get(f"/api/orders/{order['id']}", headers=bearer(token))
    assert again.status_code == 200 and again.json() == order

    # quantity defaults to 1; a product worth no points credits nothing and writes no entry.
    free = await add_product(shop, admin, name="Sticker", price="0.99", points=0)
    response = await shop.client.post("/api/orders", headers=bearer(token), json={"productId": free["id"]})
    assert response.status_code == 201, response.text
    assert response.json()["quantity"] == 1 and response.json()["points"] == 0 and response.json()["totalPrice"] == "0.99"
    assert (await my_points(shop, token))["total"] == 1
    assert await balances_in_the_database(shop) == {admin_user["id"]: 0, user["id"]: 21}


async def test_bad_orders_are_refused_in_the_error_shape_and_change_nothing(shop):
    admin, _ = await shop.admin()
    token, _ = await shop.register("careless")
    product = await add_product(shop, admin)
    await place(shop, token, product["id"], 2)
    before = await snapshot(shop)
    pid = product["id"]
    refused = {
        "quantity": [{"productId": pid, "quantity": 0}, {"productId": pid, "quantity": 1001},
                     {"productId": pid, "quantity": -1}, {"productId": pid, "quantity": "3"},
                     {"productId": pid, "quantity": 2.5}, {"productId": pid, "quantity": True},
                     {"productId": pid, "quantity": None}],
        "productId": [{"quantity": 1}, {"productId": str(pid)}, {"productId": 0}, {"productId": 2**63},
                      {"productId": None}, {"productId": pid + 1000}],
        "status": [{"productId": pid, "status": "cancelled"}],  # read-only
        "userId": [{"productId": pid, "userId": 1}],  # nobody orders for someone else
        "points": [{"productId": pid, "points": 1000}],
        "unknown": [{"productId": pid, "unknown": 1}],
    }
    for field, bodies in refused.items():
        for body in bodies:
            response = await shop.client.post("/api/orders", headers=bearer(token), json=body)
            error = assert_error(response, 422, "validation_failed")
            assert field in error["fields"], (body, error)
    missing = assert_error(await shop.client.post("/api/orders", headers=bearer(token), json={"productId": pid + 1000}),
                           422, "validation_failed")
    assert missing["fields"] == {"productId": ["No such product."]}
    assert_error(await shop.client.post("/api/orders", headers=bearer(token), json=[pid]), 422, "validation_failed")
    assert_error(await shop.client.post("/api/orders", headers={**bearer(token), "Content-Type": "application/json"},
                                        content=b"{not json"), 400, "bad_request")
    assert_error(await shop.client.post("/api/orders", headers={**bearer(token), "Content-Type": "text/plain"},
                                        content=b"productId=1"), 400, "bad_request")
    assert_error(await shop.client.post("/api/orders", json={"productId": pid}), 401, "unauthorized")
    assert_error(await shop.client.post("/api/orders", headers=bearer("not-a-token"), json={"productId": pid}),
                 401, "unauthorized")
    assert await snapshot(shop) == before


async def test_a_balance_never_passes_what_the_column_holds(shop):
    admin, _ = await shop.admin()
    token, user = await shop.register("collector")
    jackpot = await add_product(shop, admin, points=2**31 - 1)
    await place(shop, token, jackpot["id"])
    before = await snapshot(shop)
    error = assert_error(await shop.client.post("/api/orders", headers=bearer(token), json={"productId": jackpot["id"]}),
                         409, "points_limit")
    assert "2147483647" in error["message"]
    assert_error(await adjust(shop, admin, user["id"], 1), 409, "points_limit")
    assert await snapshot(shop) == before
    assert (await my_points(shop, token))["points"] == 2**31 - 1


# -- reading orders --------------------------------------------------------------------------
async def test_orders_are_listed_newest_first_paginated_and_only_the_callers_own(shop):
    admin, admin_user = await shop.admin()
    ann, ann_user = await shop.register("ann")
    bob, bob_user = await shop.register("bob")
    mug, tea = await add_product(shop, admin, name="Mug"), await add_product(shop, admin, name="Tea", points=2)
    anns = [await place(shop, ann, mug["id"]), await place(shop, ann, tea["id"], 2), await place(shop, ann, mug["id"], 3)]
    bobs = [await place(shop, bob, tea["id"]), await place(shop, bob, mug["id"])]
    assert (await cancel(shop, admin, anns[0]["id"])).status_code == 200

    async def ids(token: str, query: str = "") -> tuple[list[int], int]:
        response = await shop.client.get(f"/api/orders{query}", headers=bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "total", "limit", "offset"}
        assert all(set(item) == ORDER_FIELDS for item in body["items"])
        return [item["id"] for item in body["items"]], body["total"]

    newest_first = [o["id"] for o in reversed(anns)]
    assert await ids(ann) == (newest_first, 3)
    assert await ids(ann, f"?userId={ann_user['id']}") == (newest_first, 3)
    assert await ids(ann, "?limit=1&offset=1") == (newest_first[1:2], 3)
    assert await ids(ann, "?status=cancelled") == ([anns[0]["id"]], 1)
    assert await ids(ann, f"?productId={mug['id']}&status=placed") == ([anns[2]["id"]], 1)
    assert await ids(bob) == ([o["id"] for o in reversed(bobs)], 2)
    everyone = sorted((o["id"] for o in anns + bobs), reverse=True)
    assert await ids(admin) == (everyone, 5)
    assert await ids(admin, f"?userId={bob_user['id']}") == ([o["id"] for o in reversed(bobs)], 2)
    assert await ids(admin, f"?productId={tea['id']}") == ([bobs[0]["id"], anns[1]["id"]], 2)
    assert await ids(admin, f"?userId={admin_user['id']}") == ([], 0)

    for query in (f"?userId={bob_user['id']}", "?userId=999999"):
        error = assert_error(await shop.client.get(f"/api/orders{query}", headers=bearer(ann)), 403, "forbidden")
        assert "Mug" not in str(error)
    assert_error(await shop.client.get("/api/orders?userId=999999", headers=bearer(admin)), 404, "not_found")
    for query in ("?status=lost", "?userId=0", "?userId=x", "?productId=-1", f"?userId={2**63}", "?limit=-1", "?sort=id"):
        assert_error(await shop.client.get(f"/api/orders{query}", headers=bearer(ann)), 422, "validation_failed")
    assert_error(await shop.client.get("/api/orders"), 401, "unauthorized")


async def test_an_order_is_seen_by_its_buyer_and_administrators_only(shop):
    admin, _ = await shop.admin()
    ann, _ = await shop.register("ann")
    bob, _ = await shop.register("bob")
    order = await place(shop, ann, (await add_product(shop, admin))["id"])
    for token in (ann, admin):
        response = await shop.client.get(f"/api/orders/{order['id']}", headers=bearer(token))
        assert response.status_code == 200 and response.json() == order
    error = assert_error(await shop.client.get(f"/api/orders/{order['id']}", headers=bearer(bob)), 404, "not_found")
    missing = assert_error(await shop.client.get("/api/orders/999999", headers=bearer(bob)), 404, "not_found")
    assert error == missing  # another user's order and no order at all are told apart by nothing
    assert_error(await shop.client.get("/api/orders/" + "9" * 30, headers=bearer(admin)), 404, "not_found")
    assert_error(await shop.client.get(f"/api/orders/{order['id']}"), 401, "unauthorized")


async def test_a_read_only_key_reads_orders_and_points_but_orders_nothing(shop):
    admin, _ = await shop.admin()
    token, _ = await shop.register("reader")
    order = await place(shop, token, (await add_product(shop, admin))["id"])
    made = await shop.client.post("/api/keys", headers=bearer(token), json={"name": "reports", "readOnly": True})
    key = {"X-Api-Key": made.json()["key"]}
    assert (await shop.client.get("/api/orders", headers=key)).json()["items"] == [order]
    assert (await shop.client.get("/api/user/points", headers=key)).json()["points"] == 7
    before = await snapshot(shop)
    assert_error(await shop.client.post("/api/orders", headers=key, json={"productId": order["productId"]}), 403, "forbidden")
    assert await snapshot(shop) == before


# -- cancelling ------------------------------------------------------------------------------
async def test_cancelling_takes_the_points_back_exactly_once(shop):
    admin, admin_user = await shop.admin()
    token, _ = await shop.register("returner")
    order = await place(shop, token, (await add_product(shop, admin, points=7))["id"], 3)

    response = await cancel(shop, admin, order["id"])
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelledBy"] == admin_user["id"]
    assert cancelled["cancelled_at"].endswith("Z")
    assert {k: cancelled[k] for k in ORDER_FIELDS - {"status", "cancelled_at", "cancelledBy"}} == {
        k: order[k] for k in ORDER_FIELDS - {"status", "cancelled_at", "cancelledBy"}}
    points = await my_points(shop, token)
    assert points["points"] == 0
    assert [(e["kind"], e["delta"], e["orderId"], e["adminId"], e["balance"]) for e in points["items"]] == [
        ("order_cancelled", -21, order["id"], admin_user["id"], 0), ("order", 21, order["id"], None, 21)]

    before = await snapshot(shop)
    assert_error(await cancel(shop, admin, order["id"]), 409, "already_cancelled")
    assert_error(await cancel(shop, admin, 999999), 404, "not_found")
    assert_error(await cancel(shop, admin, "9" * 30), 404, "not_found")
    assert_error(await cancel(shop, token, order["id"]), 403, "forbidden")
    assert_error(await shop.client.post(f"/api/admin/orders/{order['id']}/cancel"), 401, "unauthorized")
    assert await snapshot(shop) == before
    assert (await shop.client.get(f"/api/orders/{order['id']}", headers=bearer(token))).json() == cancelled


async def test_concurrent_cancellations_of_one_order_take_its_points_back_once(shop):
    admin, _ = await shop.admin()
    token, user = await shop.register("contested")
    product = await add_product(shop, admin, points=5)
    kept, doomed = await place(shop, token, product["id"], 2), await place(shop, token, product["id"], 4)
    answers = await asyncio.gather(*(cancel(shop, admin, doomed["id"]) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7
    for answer in answers:
        if answer.status_code == 409:
            assert_error(answer, 409, "already_cancelled")
    reversals = await shop.app.db.fetch_all(
        "SELECT delta FROM points_ledger WHERE order_id = ? AND kind = 'order_cancelled'", (doomed["id"],))
    assert [int(r["delta"]) for r in reversals] == [-20]
    assert (await balances_in_the_database(shop))[user["id"]] == kept["points"] == 10


async def test_a_cancellation_may_leave_a_debt_that_adjustments_cannot_deepen(shop):
    admin, _ = await shop.admin()
    token, user = await shop.register("spender")
    order = await place(shop, token, (await add_product(shop, admin, points=7))["id"], 3)
    assert (await adjust(shop, admin, user["id"], -21, "Redeemed for a voucher")).status_code == 201
    assert (await cancel(shop, admin, order["id"])).status_code == 200
    assert (await my_points(shop, token))["points"] == -21
    before = await snapshot(shop)
    error = assert_error(await adjust(shop, admin, user["id"], -1), 409, "insufficient_points")
    assert error["points"] == -21
    assert await snapshot(shop) == before
    response = await adjust(shop, admin, user["id"], 5, "Paying back")
    assert response.status_code == 201 and response.json()["balance"] == -16
    assert (await balances_in_the_database(shop))[user["id"]] == -16


# -- adjustments and the points pages ----------------------------------------------------------
async def test_an_administrator_adjusts_points_with_a_reason_that_the_history_keeps(shop):
    admin, admin_user = await shop.admin()
    token, user = await shop.register("member")
    other, other_user = await shop.register("other")

    response = await adjust(shop, admin, user["id"], 50, "Welcome bonus")
    assert response.status_code == 201, response.text
    entry = response.json()
    assert set(entry) == ENTRY_FIELDS
    assert {k: entry[k] for k in ENTRY_FIELDS - {"id", "created_at"}} == {
        "delta": 50, "reason": "Welcome bonus", "kind": "adjustment", "orderId": None, "adminId": admin_user["id"],
        "balance": 50}
    second = (await adjust(shop, admin, user["id"], -30, "Redeemed")).json()
    assert second["balance"] == 20

    before = await snapshot(shop)
    error = assert_error(await adjust(shop, admin, user["id"], -21, "Too much"), 409, "insufficient_points")
    assert error["points"] == 20 and "20" in error["message"]
    refused = [
        ({"delta": 0, "reason": "x"}, "delta"), ({"delta": "5", "reason": "x"}, "delta"),
        ({"delta": 1.5, "reason": "x"}, "delta"), ({"delta": True, "reason": "x"}, "delta"),
        ({"delta": 10**9 + 1, "reason": "x"}, "delta"), ({"delta": -(10**9) - 1, "reason": "x"}, "delta"),
        ({"reason": "x"}, "delta"), ({"delta": 5}, "reason"), ({"delta": 5, "reason": ""}, "reason"),
        ({"delta": 5, "reason": "   "}, "reason"), ({"delta": 5, "reason": "r" * 501}, "reason"),
        ({"delta": 5, "reason": None}, "reason"), ({"delta": 5, "reason": "x", "kind": "order"}, "kind"),
        ({"delta": 5, "reason": "x", "adminId": 1}, "adminId"), ({"delta": 5, "reason": "x", "balance": 9}, "balance"),
    ]
    for body, field in refused:
        response = await shop.client.post(f"/api/admin/users/{user['id']}/points", headers=bearer(admin), json=body)
        assert field in assert_error(response, 422, "validation_failed")["fields"], body
    assert_error(await adjust(shop, admin, 999999, 5), 404, "not_found")
    assert_error(await adjust(shop, token, user["id"], 5), 403, "forbidden")
    assert_error(await adjust(shop, token, other_user["id"], 5), 403, "forbidden")
    assert_error(await shop.client.post(f"/api/admin/users/{user['id']}/points", json={"delta": 5, "reason": "x"}),
                 401, "unauthorized")
    assert await snapshot(shop) == before
    longest = await adjust(shop, admin, user["id"], 1, "é" * 500)
    assert longest.status_code == 201 and longest.json()["reason"] == "é" * 500

    history = await shop.client.get(f"/api/admin/users/{user['id']}/points", headers=bearer(admin))
    assert history.status_code == 200
    assert history.json() == await my_points(shop, token)
    assert [e["reason"] for e in history.json()["items"]] == ["é" * 500, "Redeemed", "Welcome bonus"]
    assert (await my_points(shop, other))["points"] == 0 and (await my_points(shop, other))["items"] == []
    assert_error(await shop.client.get(f"/api/admin/users/{user['id']}/points", headers=bearer(other)), 403, "forbidden")
    assert_error(await shop.client.get("/api/admin/users/999999/points", headers=bearer(admin)), 404, "not_found")
    assert_error(await shop.client.get("/api/user/points"), 401, "unauthorized")


async def test_the_points_history_is_newest_first_and_paginated(shop):
    admin, _ = await shop.admin()
    token, user = await shop.register("historian")
    for delta in range(1, 8):
        assert (await adjust(shop, admin, user["id"], delta, f"step {delta}")).status_code == 201
    page = await my_points(shop, token, "?limit=3&offset=2")
    assert (page["points"], page["total"], page["limit"], page["offset"]) == (28, 7, 3, 2)
    assert [e["delta"] for e in page["items"]] == [5, 4, 3]
    assert [e["balance"] for e in page["items"]] == [15, 10, 6]
    assert (await my_points(shop, token, "?limit=500"))["limit"] == 200
    assert_error(await shop.client.get("/api/user/points?offset=-1", headers=bearer(token)), 422, "validation_failed")
    assert_error(await shop.client.get("/api/user/points?userId=1", headers=bearer(token)), 422, "validation_failed")


# -- the invariant under concurrency -----------------------------------------------------------
async def test_concurrent_orders_cancellations_and_adjustments_keep_every_balance_equal_to_its_ledger(shop):
    rng = random.Random(18)
    admin, _ = await shop.admin()
    people = [await shop.register(f"shopper{n}") for n in range(4)]
    products = [await add_product(shop, admin, name="Mug", price="12.50", points=7),
                await add_product(shop, admin, name="Pen", price="0.99", points=1),
                await add_product(shop, admin, name="Chair", price="100.00", points=0)]
    expected = {user["id"]: 0 for _, user in people}
    for _, user in people:
        assert (await adjust(shop, admin, user["id"], 1000, "Opening")).status_code == 201
        expected[user["id"]] += 1000
    to_cancel = []
    for n in range(6):
        token, user = people[n % 4]
        to_cancel.append(await place(shop, token, products[0]["id"], n + 1))
        expected[user["id"]] += 7 * (n + 1)

    orders = [(people[rng.randrange(4)], rng.choice(products), rng.randint(1, 20)) for _ in range(40)]
    calls: list[tuple[str, Any, Any]] = []
    for (token, user), product, quantity in orders:
        calls.append(("order", user["id"],
                      shop.client.post("/api/orders", headers=bearer(token), json={"productId": product["id"], "quantity": quantity})))
        expected[user["id"]] += product["points"] * quantity
    for order in to_cancel:
        for _ in range(2):  # each one twice at once: one cancellation wins
            calls.append(("cancel", order["id"], cancel(shop, admin, order["id"])))
        expected[order["userId"]] -= order["points"]
    for _, user in people:
        for delta in (25, -40):
            calls.append(("adjust", user["id"], adjust(shop, admin, user["id"], delta, "Concurrent")))
            expected[user["id"]] += delta
    rng.shuffle(calls)
    answers = await asyncio.gather(*(call for _, _, call in calls))

    cancels: dict[int, list[int]] = {}
    for (kind, subject, _), answer in zip(calls, answers):
        if kind == "cancel":
            cancels.setdefault(subject, []).append(answer.status_code)
        else:
            assert answer.status_code == 201, (kind, answer.text)
    assert all(sorted(statuses) == [200, 409] for statuses in cancels.values()), cancels
    assert len(cancels) == 6

    in_database = await balances_in_the_database(shop)
    for token, user in people:
        history = await whole_history(shop, admin, user["id"])
        assert history["points"] == sum(e["delta"] for e in history["entries"]) == expected[user["id"]]
        assert (await my_points(shop, token))["points"] == expected[user["id"]]
        assert in_database[user["id"]] == expected[user["id"]]
    db = shop.app.db
    assert await shop.count("orders") == 46
    assert await db.fetch_value("SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'") == 6
    credited = sum(1 for _, product, _ in orders if product["points"]) + 6
    assert await db.fetch_value("SELECT COUNT(*) AS n FROM points_ledger WHERE kind = 'order'") == credited
    assert await db.fetch_value("SELECT COUNT(*) AS n FROM points_ledger WHERE kind = 'order_cancelled'") == 6
    assert await db.fetch_value("SELECT COUNT(*) AS n FROM points_ledger WHERE kind = 'adjustment'") == 4 + 8


async def test_concurrent_withdrawals_never_take_a_balance_below_zero(shop):
    admin, _ = await shop.admin()
    token, user = await shop.register("saver")
    assert (await adjust(shop, admin, user["id"], 100, "Savings")).status_code == 201
    answers = await asyncio.gather(*(adjust(shop, admin, user["id"], -30, "Withdrawal") for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 3
    for answer in answers:
        if answer.status_code == 409:
            assert assert_error(answer, 409, "insufficient_points")["points"] in (10, 40, 70)
    assert sorted(a.json()["balance"] for a in answers if a.status_code == 201) == [10, 40, 70]
    assert (await my_points(shop, token))["points"] == 10
    assert (await balances_in_the_database(shop))[user["id"]] == 10


# -- what other deletions do to orders and points ---------------------------------------------
async def test_deleting_a_product_leaves_its_orders_readable_and_cancellable(shop):
    admin, _ = await shop.admin()
    token, user = await shop.register("loyal")
    product = await add_product(shop, admin, name="Limited edition", price="5.00", points=3)
    order = await place(shop, token, product["id"], 2)
    assert (await shop.client.delete(f"/api/products/{product['id']}", headers=bearer(admin))).status_code == 204

    listed = await shop.client.get("/api/orders", headers=bearer(token))
    assert listed.status_code == 200 and listed.json()["items"] == [order]
    assert order["productName"] == "Limited edition" and order["totalPrice"] == "10.00"
    assert (await shop.client.get(f"/api/orders?productId={product['id']}", headers=bearer(admin))).json()["total"] == 1
    assert (await shop.client.get(f"/api/orders/{order['id']}", headers=bearer(token))).json() == order
    missing = assert_error(await shop.client.post("/api/orders", headers=bearer(token), json={"productId": product["id"]}),
                           422, "validation_failed")
    assert missing["fields"] == {"productId": ["No such product."]}
    assert (await cancel(shop, admin, order["id"])).json()["status"] == "cancelled"
    assert (await balances_in_the_database(shop))[user["id"]] == 0


async def test_deleting_a_user_deletes_their_orders_and_ledger_and_keeps_what_they_did_as_admin(shop):
    admin, admin_user = await shop.admin()
    leaving, leaving_user = await shop.register("leaving")
    staying, staying_user = await shop.register("staying")
    _, second_user = await shop.register("second_admin")
    product = await add_product(shop, admin, points=7)
    await place(shop, leaving, product["id"], 2)
    assert (await adjust(shop, admin, leaving_user["id"], 5)).status_code == 201
    cancelled = await place(shop, staying, product["id"])
    kept = await place(shop, staying, product["id"], 3)
    assert (await cancel(shop, admin, cancelled["id"])).status_code == 200
    assert (await adjust(shop, admin, staying_user["id"], 4, "Sorry")).status_code == 201
    promoted = await shop.client.put(f"/api/admin/users/{second_user['id']}/role", headers=bearer(admin), json={"role": "admin"})
    assert promoted.status_code == 200
    login = await shop.client.post("/api/auth/login", json={"username": "second_admin", "password": TEST_PASSWORD})
    second = login.json()["token"]

    assert (await shop.client.delete(f"/api/admin/users/{leaving_user['id']}", headers=bearer(second))).status_code == 204
    db = shop.app.db
    assert await db.fetch_value("SELECT COUNT(*) AS n FROM orders WHERE user_id = ?", (leaving_user["id"],)) == 0
    assert await db.fetch_value("SELECT COUNT(*) AS n FROM points_ledger WHERE user_id = ?", (leaving_user["id"],)) == 0
    assert_error(await shop.client.get(f"/api/admin/users/{leaving_user['id']}/points", headers=bearer(second)), 404, "not_found")
    assert_error(await shop.client.get(f"/api/orders?userId={leaving_user['id']}", headers=bearer(second)), 404, "not_found")
    staying_before = await whole_history(shop, second, staying_user["id"])
    assert staying_before["points"] == 7 * 3 + 4

    # The administrator who cancelled and adjusted goes; what they did stays, no longer naming them.
    assert (await shop.client.delete(f"/api/admin/users/{admin_user['id']}", headers=bearer(second))).status_code == 204
    staying_after = await whole_history(shop, second, staying_user["id"])
    assert staying_after["points"] == staying_before["points"]
    assert [e["adminId"] for e in staying_before["entries"]] == [admin_user["id"], admin_user["id"], None, None]
    assert [e["adminId"] for e in staying_after["entries"]] == [None] * 4
    assert [{**e, "adminId": None} for e in staying_before["entries"]] == staying_after["entries"]
    orders = (await shop.client.get("/api/orders", headers=bearer(staying))).json()["items"]
    assert [(o["id"], o["status"], o["cancelledBy"]) for o in orders] == [(kept["id"], "placed", None),
                                                                          (cancelled["id"], "cancelled", None)]
    assert await balances_in_the_database(shop) == {second_user["id"]: 0, staying_user["id"]: 25}


# -- the plugin itself ---------------------------------------------------------------------------
async def test_points_held_before_the_ledger_become_its_first_entry(tmp_path, db_url):
    async with server_with_plugins(tmp_path, db_url, ["auth", "catalog"]) as server:
        _, user = await server.register("veteran")
        await server.app.db.execute("UPDATE users SET points = 40 WHERE id = ?", (user["id"],))  # from an older system
    async with server_with_plugins(tmp_path, db_url, PLUGINS) as server:
        login = await server.client.post("/api/auth/login", json={"username": "veteran", "password": TEST_PASSWORD})
        points = await my_points(server, login.json()["token"])
        assert points["points"] == 40 and points["total"] == 1
        assert {k: points["items"][0][k] for k in ("delta", "balance", "kind", "orderId", "adminId")} == {
            "delta": 40, "balance": 40, "kind": "adjustment", "orderId": None, "adminId": None}
        assert await balances_in_the_database(server) == {user["id"]: 40}
        applied = await server.app.db.fetch_value("SELECT COUNT(*) AS n FROM schema_migrations WHERE id = ?",
                                                  ("orders/0001_orders_points.sql",))
        assert applied == 1


async def test_the_plugin_refuses_to_start_without_the_catalog(tmp_path, db_url):
    app = build_app(DEFAULT_CONFIG, overrides=test_config(tmp_path, db_url, plugins=["auth", "orders"]), environ={},
                    entry_points=False)
    try:
        with pytest.raises(RuntimeError, match="needs the catalog plugin"):
            await app.start(port=0, host="127.0.0.1")
    finally:
        await app.stop()


async def test_the_routes_are_documented_with_their_bodies(shop):
    doc = (await shop.client.get("/api/openapi.json")).json()
    paths = {path: set(item) for path, item in doc["paths"].items() if "orders" in path or "points" in path}
    assert paths == {
        "/api/orders": {"get", "post"}, "/api/orders/{order_id}": {"get"},
        "/api/admin/orders/{order_id}/cancel": {"post"}, "/api/user/points": {"get"},
        "/api/admin/users/{user_id}/points": {"get", "post"},
    }
    schemas = doc["components"]["schemas"]
    assert set(schemas["OrderInput"]["properties"]) == {"productId", "quantity"}
    assert schemas["OrderInput"]["required"] == ["productId"]
    assert set(schemas["Order"]["required"]) == ORDER_FIELDS == set(schemas["Order"]["properties"])
    assert set(schemas["PointsEntryInput"]["properties"]) == set(schemas["PointsEntryInput"]["required"]) == {"delta", "reason"}
    assert set(schemas["PointsEntry"]["required"]) == ENTRY_FIELDS
    for path, method in (("/api/orders", "post"), ("/api/admin/orders/{order_id}/cancel", "post"),
                         ("/api/admin/users/{user_id}/points", "post")):
        assert "409" in doc["paths"][path][method]["responses"], (path, method)

"""The kept pages of the public lists (server/cache.py): an anonymous `GET /api/products` or
`GET /api/articles` is answered from a page rendered earlier until a write changes the table, in
this process at once and in every other process through the Redis event bus."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from server.cache import MAX_AGE, page_cache
from tests.support.server import assert_error, bearer, spawned_server

# Per list: the column a hand-made change edits, and a body that creates one item.
KINDS = {
    "products": ("name", lambda n: {"name": f"Mug {n}", "price": "4.50"}),
    "articles": ("title", lambda n: {"title": f"News {n}", "content": "Open on Sundays."}),
}


def names(answer: httpx.Response, kind: str) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(item[KINDS[kind][0]] for item in answer.json()["items"])


async def create(client: httpx.AsyncClient, token: str, kind: str, n: int) -> dict[str, Any]:
    response = await client.post(f"/api/{kind}", headers=bearer(token), json=KINDS[kind][1](n))
    assert response.status_code == 201, response.text
    return response.json()


async def change_by_hand(server: Any, kind: str, item_id: int, text: str) -> None:
    """A change wamulti does not make (SQL typed by hand): nothing drops the kept pages."""
    await server.app.db.execute(f"UPDATE {kind} SET {KINDS[kind][0]} = ? WHERE id = ?", (text, item_id))


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_an_anonymous_list_is_kept_until_a_write_through_the_api(server, kind):
    token, _ = await server.admin()
    first = await create(server.client, token, kind, 1)
    cache = page_cache(server.app, kind)
    assert cache is not None and len(cache) == 0

    kept = await server.client.get(f"/api/{kind}")
    assert names(kept, kind) == [first[KINDS[kind][0]]] and len(cache) == 1
    await change_by_hand(server, kind, first["id"], "changed by hand")
    again = await server.client.get(f"/api/{kind}")
    assert again.content == kept.content  # the kept page: the hand-made change is not in it
    assert again.headers["Cache-Control"] == kept.headers["Cache-Control"] == "no-store"
    assert again.headers["Content-Type"] == "application/json; charset=UTF-8"
    # A request with a credential is rendered afresh, never from the page kept for anybody.
    assert names(await server.client.get(f"/api/{kind}", headers=bearer(token)), kind) == ["changed by hand"]

    second = await create(server.client, token, kind, 2)  # a write: the next anonymous answer is fresh
    assert names(await server.client.get(f"/api/{kind}"), kind) == sorted(["changed by hand", second[KINDS[kind][0]]])

    field = KINDS[kind][0]
    changed = await server.client.put(f"/api/{kind}/{first['id']}", headers=bearer(token), json={field: "Renamed"})
    assert changed.status_code == 200, changed.text
    assert names(await server.client.get(f"/api/{kind}"), kind) == sorted(["Renamed", second[field]])

    gone = await server.client.delete(f"/api/{kind}/{second['id']}", headers=bearer(token))
    assert gone.status_code == 204
    assert names(await server.client.get(f"/api/{kind}"), kind) == ["Renamed"]


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_query_string_is_a_page_of_its_own_and_errors_are_never_kept(server, kind):
    token, _ = await server.admin()
    for n in range(3):
        await create(server.client, token, kind, n)
    whole = await server.client.get(f"/api/{kind}")
    one = await server.client.get(f"/api/{kind}", params={"limit": 1})
    assert len(whole.json()["items"]) == 3 and len(one.json()["items"]) == 1
    assert (await server.client.get(f"/api/{kind}")).content == whole.content
    assert (await server.client.get(f"/api/{kind}", params={"limit": 1})).content == one.content
    for _ in range(2):  # refused every time, and nothing is kept for it
        assert_error(await server.client.get(f"/api/{kind}", params={"limit": "many"}), 422, "validation_failed")
    assert len(page_cache(server.app, kind)) == 2
    # A write that changes nothing (a delete of a missing item) drops nothing, and still answers 404.
    assert_error(await server.client.delete(f"/api/{kind}/987654", headers=bearer(token)), 404, "not_found")
    assert len(page_cache(server.app, kind)) == 2


async def test_a_write_in_one_process_drops_the_pages_another_process_kept(make_server, tmp_path, db_url):
    """Two servers on one database and one Redis: a product created through the first is in the
    second's next anonymous list, well before a kept page would have aged out (MAX_AGE)."""
    prefix = f"wamulti-test-{uuid.uuid4().hex[:8]}:"
    secret = "c" * 40
    events_cfg = {"backend": "redis", "redis_url": "redis://127.0.0.1:6379/0", "redis_prefix": prefix}
    local = await make_server(events=events_cfg, auth={"bcrypt_rounds": 4, "jwt_secret": secret})
    token, _ = await local.admin()
    first = await create(local.client, token, "products", 1)
    # A file of its own, not the repository's config.yaml: that one holds sections of plugins this
    # process does not load, which is not what this test is about.
    config = tmp_path / "other.yaml"
    config.write_text("plugins: [auth, catalog, articles]\n")
    env = {
        "WAMULTI_DATA_DIR": str(tmp_path / "other"),
        "WAMULTI_DATABASE__URL": db_url,
        "WAMULTI_EVENTS__BACKEND": "redis",
        "WAMULTI_EVENTS__REDIS_PREFIX": prefix,
        "WAMULTI_AUTH__JWT_SECRET": secret,
    }
    with spawned_server(["--config", str(config)], cwd=tmp_path, env=env) as (_, port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as remote:
            kept_at = time.monotonic()
            kept = await remote.get("/api/products")
            assert names(kept, "products") == ["Mug 1"]
            await change_by_hand(local, "products", first["id"], "changed by hand")
            assert (await remote.get("/api/products")).content == kept.content  # the other process kept its page

            second = await create(local.client, token, "products", 2)
            expected = sorted(["changed by hand", second["name"]])
            seen: list[str] = []
            while time.monotonic() - kept_at < MAX_AGE / 2 and seen != expected:
                seen = names(await remote.get("/api/products"), "products")
                if seen != expected:
                    await asyncio.sleep(0.05)
            assert seen == expected, "the write in one process never reached the other's kept page"

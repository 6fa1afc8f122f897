"""Search, on both databases: chats by name or number and messages by their words, through the
full-text index, in any letter case and script; edits and deletes reach the index; it all works
while the session is stopped."""
from __future__ import annotations

from typing import Any

import pytest

from tests.support.files import b64, png_bytes
from tests.support.server import assert_error, bearer
from tests.support.whatsapp import link, wa_config, wait_for, wait_state

pytestmark = pytest.mark.browser

ALICE, ANNA, CAROL = "79995560001", "79995560002", "79995560003"
ANNA_CHAT, CAROL_CHAT = f"{ANNA}@c.us", f"{CAROL}@c.us"


async def search(server: Any, token: str, uid: int, status: int = 200, **params: Any) -> Any:
    response = await server.client.get(f"/api/whatsapp/search/{uid}", params=params, headers=bearer(token))
    assert response.status_code == status, response.text
    return response.json() if status == 200 else response


async def bodies(server: Any, token: str, uid: int, **params: Any) -> list[str]:
    return sorted(m["body"] or m["caption"] for m in (await search(server, token, uid, **params))["items"])


async def chat_ids(server: Any, token: str, uid: int, q: str) -> list[str]:
    response = await server.client.get(f"/api/whatsapp/chats/{uid}", params={"q": q}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def test_messages_and_chats_are_found_by_words_and_names_even_while_stopped(make_server, fakewa):
    server = await make_server(**wa_config(fakewa))
    token, user = await server.register("searcher")
    uid = user["id"]
    await link(server, fakewa, token, uid, ALICE, "Alice")

    await fakewa.incoming(ALICE, ANNA, "Здравствуйте, мой Заказ 1042 не пришёл", pushname="Анна Петрова")
    await fakewa.incoming(ALICE, ANNA, "ok thanks")
    order = await fakewa.incoming(ALICE, CAROL, "The ORDER arrived", pushname="Carol")
    invoice = await fakewa.incoming(ALICE, CAROL, caption="invoice for the order",
                                    media={"mimetype": "image/png", "filename": "i.png", "data": b64(png_bytes(4, 4))})

    async def all_stored() -> bool:
        return (await search(server, token, uid, q="order"))["total"] == 2
    await wait_for(all_stored, message="the four messages stored and indexed")

    # Words in any case and script, as words or their starts; every word must be there.
    assert await bodies(server, token, uid, q="заказ") == ["Здравствуйте, мой Заказ 1042 не пришёл"]
    assert await bodies(server, token, uid, q="ЗАК 1042") == ["Здравствуйте, мой Заказ 1042 не пришёл"]
    assert await bodies(server, token, uid, q="order") == ["The ORDER arrived", "invoice for the order"]
    assert await bodies(server, token, uid, q="order arrived") == ["The ORDER arrived"]
    assert await bodies(server, token, uid, q="ok") == ["ok thanks"]  # shorter than MySQL's indexed words
    assert await bodies(server, token, uid, q="order ok") == []
    assert await bodies(server, token, uid, q='"order" (arrived)*') == ["The ORDER arrived"]  # operators are text
    # One chat only, by its phone id; pages with a total.
    assert await bodies(server, token, uid, q="order", chatId=ANNA_CHAT) == []
    page = await search(server, token, uid, q="order", chatId=CAROL_CHAT, limit=1)
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["chatId"] == CAROL_CHAT
    assert page["items"][0]["id"].endswith(invoice["id"]["id"])  # newest first

    # Chats by name (any case, Cyrillic too) or by a number as people write it.
    assert await chat_ids(server, token, uid, "анна") == [ANNA_CHAT]
    assert await chat_ids(server, token, uid, "+7 999 556-00-03") == [CAROL_CHAT]
    assert await chat_ids(server, token, uid, "carol") == [CAROL_CHAT]
    assert await chat_ids(server, token, uid, "nobody") == []

    # An edit and a delete for everyone reach the index.
    await fakewa.edit(CAROL, ALICE, order["id"]["_serialized"], "The parcel arrived")
    await fakewa.revoke(CAROL, ALICE, invoice["id"]["_serialized"])

    async def changed() -> bool:
        return (await bodies(server, token, uid, q="order")) == [] and \
            (await bodies(server, token, uid, q="parcel")) == ["The parcel arrived"]
    await wait_for(changed, message="the edit and the delete in the index")

    # Stopped, the database still answers.
    response = await server.client.post(f"/api/whatsapp/disconnect/{uid}", headers=bearer(token))
    assert response.status_code == 200, response.text
    await wait_state(server, token, uid, "STOPPED")
    assert await bodies(server, token, uid, q="заказ") == ["Здравствуйте, мой Заказ 1042 не пришёл"]
    assert await chat_ids(server, token, uid, "анна") == [ANNA_CHAT]


async def test_a_search_without_a_word_is_refused(server):
    token, user = await server.register("wordless")
    for params in ({}, {"q": ""}, {"q": "!!! ?"}, {"q": "x" * 201}, {"q": "a\x00b"}):
        response = await search(server, token, user["id"], status=422, **params)
        error = assert_error(response, 422, "validation_failed")
        assert "q" in error["fields"], params
    response = await search(server, token, user["id"], status=422, q="hello", limit=-1)
    assert "limit" in assert_error(response, 422, "validation_failed")["fields"]

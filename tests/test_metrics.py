"""GET /metrics: off by default, guarded by a token and an address list, Prometheus' format; the
figures it reports move with what the server does, and no label names a person."""
from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tornado.websocket import websocket_connect

from server.app import build_app
from server.config import ConfigError
from server.db import DatabaseUnavailable
from server.events import event, user_channel
from server.openapi import path_template
from tests.support.server import DEFAULT_CONFIG, assert_error, bearer
from tests.support.whatsapp import link, messages, wa_config, wait_for
from tests.support.ws import connect

TOKEN = "metrics-token-" + "m" * 24
ON = {"metrics": {"enabled": True}}
ALICE_PHONE, CAROL_PHONE, BOB_PHONE = "79990000501", "79990000502", "79990000503"


async def scrape(server: Any, token: str | None = None) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: (name, sorted label pairs) -> value."""
    response = await server.client.get("/metrics", headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def names_anyone(samples: dict, *texts: str) -> list[str]:
    """The texts (ids, names, phone numbers) that a label value is, or holds as a path segment or part."""
    values = {v for _, labels in samples for _, v in labels}
    return [t for t in texts if any(t == v or t in v.split("/") or (len(t) > 3 and t in v) for v in values)]


async def test_metrics_are_off_by_default_and_then_an_unknown_route(server):
    assert_error(await server.client.get("/metrics"), 404, "not_found")
    doc = (await server.client.get("/api/openapi.json")).json()
    assert "/metrics" not in doc["paths"]


async def test_a_token_guards_the_metrics(make_server):
    server = await make_server(metrics={"enabled": True, "token": TOKEN})
    for headers in ({}, bearer("not-the-token-at-all"), bearer(TOKEN[:-1]), {"Authorization": TOKEN}):
        response = await server.client.get("/metrics", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "wamulti_" not in response.text
    samples = await scrape(server, TOKEN)
    assert any(name.startswith("process_") for name, _ in samples), "no process collector"
    doc = (await server.client.get("/api/openapi.json")).json()
    assert set(doc["paths"]["/metrics"]) == {"get"}


async def test_an_address_outside_the_allow_list_is_403_even_with_the_token(make_server):
    server = await make_server(metrics={"enabled": True, "token": TOKEN, "allow": ["10.0.0.0/8", "::1/128"]})
    response = await server.client.get("/metrics", headers=bearer(TOKEN))
    assert "metrics.allow" in assert_error(response, 403, "forbidden")["message"]
    assert "wamulti_" not in response.text
    open_to_loopback = await make_server(metrics={"enabled": True, "allow": ["127.0.0.0/8"]})
    assert await scrape(open_to_loopback)


@pytest.mark.parametrize("metrics, key", [
    ({"enabled": True, "allow": []}, "metrics"),
    ({"enabled": True, "allow": ["not-a-network"]}, "metrics.allow"),
    ({"enabled": True, "token": "short"}, "metrics.token"),
    ({"enabled": "sometimes"}, "metrics.enabled"),
])
def test_a_wrong_metrics_setting_is_one_line_naming_it(metrics, key):
    with pytest.raises(ConfigError) as info:
        build_app(DEFAULT_CONFIG, overrides={"metrics": metrics}, environ={}, entry_points=False)
    assert str(info.value).startswith(f"config: {key}") and "\n" not in str(info.value)


async def test_http_requests_are_counted_by_route_template_and_never_by_user(make_server):
    server = await make_server(**ON)
    admin, _ = await server.admin("metrics_admin")
    token, user = await server.register("metered_person")
    product = (await server.client.post("/api/products", headers=bearer(admin), json={"name": "Mug"})).json()
    before = await scrape(server)
    template = "/api/products/{product_id}"
    for product_id in (product["id"], product["id"], 999_999):
        await server.client.get(f"/api/products/{product_id}")
    await server.client.get(f"/api/whatsapp/status/{user['id']}", headers=bearer(token))
    await server.client.get("/api/user/profile", headers=bearer(token))
    await server.client.get(f"/no/such/{user['username']}")
    await server.client.request("BREW", "/api/health")
    after = await scrape(server)

    count = "wamulti_http_request_duration_seconds_count"
    assert value(after, count, method="GET", route=template) - value(before, count, method="GET", route=template) == 3
    requests = "wamulti_http_requests_total"
    assert value(after, requests, method="GET", route=template, status="200") - value(
        before, requests, method="GET", route=template, status="200") == 2
    assert value(after, requests, method="GET", route=template, status="404") - value(
        before, requests, method="GET", route=template, status="404") == 1
    assert value(after, requests, method="GET", route="unmatched", status="404") >= 1
    assert value(after, requests, method="other", route="/api/health", status="405") == 1
    buckets = [v for (name, labels), v in after.items()
               if name == "wamulti_http_request_duration_seconds_bucket" and ("route", template) in labels]
    assert buckets and max(buckets) >= 3

    routes = {v for _, labels in after for k, v in labels if k == "route"}
    templates = {path_template(route[0])[0] for route in server.app.routes} | {"unmatched"}
    assert routes <= templates, routes - templates
    assert "/api/whatsapp/status/{user_id}" in routes
    assert not names_anyone(after, str(user["id"]), user["username"])


async def test_the_database_pool_and_its_timeouts_are_reported(make_server, db_url):
    server = await make_server(**ON, database={"query_timeout": 0.5})
    samples = await scrape(server)
    assert value(samples, "wamulti_db_pool_max_connections") >= 1
    assert ("wamulti_db_pool_connections", (("state", "idle"),)) in samples
    assert value(samples, "wamulti_db_query_timeouts_total") == 0
    if server.app.db.backend == "mysql":  # SQLite statements have no time limit
        with pytest.raises(DatabaseUnavailable):
            await server.app.db.fetch_value("SELECT SLEEP(3)")
        assert value(await scrape(server), "wamulti_db_query_timeouts_total") == 1
        assert (await server.client.get("/api/products")).status_code == 200  # the pool recovered


async def test_websocket_connections_and_slow_clients_closed_are_reported(make_server, clients):
    server = await make_server(**ON, websocket={"queue_size": 8})
    token, user = await server.register("socketeer")
    assert value(await scrape(server), "wamulti_websocket_connections") == 0
    fast = await connect(server, token)
    clients.append(fast)
    await fast.next_of("hello")
    samples = await scrape(server)
    assert value(samples, "wamulti_websocket_connections") == 1
    assert value(samples, "wamulti_websocket_slow_clients_closed_total") == 0

    hub = server.app.state["websocket"]
    slow = await websocket_connect(f"{server.ws_url}?token={token}")  # never reads
    assert value(await scrape(server), "wamulti_websocket_connections") == 2
    sent = 0
    while hub.connections == 2 and sent < 5000:
        await server.app.events.publish(user_channel(user["id"]), event("message", {"n": sent, "pad": "x" * 32_000}))
        await fast.next()
        sent += 1
    samples = await scrape(server)
    assert value(samples, "wamulti_websocket_slow_clients_closed_total") == 1
    assert value(samples, "wamulti_websocket_connections") == 1
    slow.close()


@pytest.mark.browser
async def test_whatsapp_sessions_and_messages_are_reported(make_server, fakewa, clients):
    server = await make_server(**wa_config(fakewa), **ON)
    token, user = await server.register("wa_metered")
    samples = await scrape(server)
    assert value(samples, "wamulti_whatsapp_sessions", state="CONNECTED") == 0
    assert value(samples, "wamulti_whatsapp_max_sessions") == 5

    socket = await connect(server, token)
    clients.append(socket)
    await link(server, fakewa, token, user["id"], ALICE_PHONE, "Alice")
    # Live messages are counted, not the history a sync brings: send once the sync is done.
    await socket.next_of("chats.synced", timeout=30)
    samples = await scrape(server)
    assert value(samples, "wamulti_whatsapp_sessions", state="CONNECTED") == 1
    assert value(samples, "wamulti_whatsapp_sessions", state="QR") == 0
    assert value(samples, "wamulti_whatsapp_live_sessions") == 1

    await fakewa.incoming(ALICE_PHONE, CAROL_PHONE, "hello alice")
    await wait_for(lambda: messages(server, token, user["id"], f"{CAROL_PHONE}@c.us"), message="the incoming message")
    sent = await server.client.post(f"/api/whatsapp/send/{user['id']}", headers=bearer(token),
                                    json={"to": BOB_PHONE, "message": "hi bob"})
    assert sent.status_code == 201, sent.text

    async def counted() -> dict | None:
        samples = await scrape(server)
        got = (value(samples, "wamulti_whatsapp_messages_total", direction="in", type="chat"),
               value(samples, "wamulti_whatsapp_messages_total", direction="out", type="chat"))
        return samples if got == (1, 1) else None

    samples = await wait_for(counted, timeout=20, message="one message in and one out in the metrics")
    assert value(samples, "wamulti_whatsapp_browser_restarts_total") == 0
    assert not names_anyone(samples, ALICE_PHONE, CAROL_PHONE, BOB_PHONE, str(user["id"]), user["username"])

"""The /ws channel with real websocket clients against the real server."""
from __future__ import annotations

import asyncio
import logging
import json
import uuid

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from server.events import event, user_channel
from server.plugins import call_hook
from tests.support.server import DEFAULT_CONFIG, bearer, spawned_server
from tests.support.ws import Client, connect


async def test_refused_without_or_with_a_bad_token(server):
    for query in ("", "token=not.a.token"):
        with pytest.raises(HTTPClientError) as info:
            await websocket_connect(server.ws_url + "?" + query)
        assert info.value.code == 401
        body = json.loads(info.value.response.body)
        assert body["error"]["code"] == "unauthorized"


async def test_hello_then_commands_with_query_token_or_header(server, clients):
    token, user = await server.register("wsuser")
    for header in (False, True):
        client = await connect(server, token, header=header)
        clients.append(client)
        hello = await client.next()
        assert hello["type"] == "hello"
        assert hello["data"]["user"]["id"] == user["id"]
        reply = await client.command("ping", ref="abc")
        assert reply["ref"] == "abc" and reply["ok"] is True
        assert (await client.next_of("pong"))["data"]["ref"] == "abc"


async def test_bad_frames_get_error_replies_and_the_socket_stays_open(server, clients):
    token, _ = await server.register("badframes")
    client = await connect(server, token)
    clients.append(client)
    await client.next_of("hello")
    client.send("{not json")
    reply = (await client.next_of("reply"))["data"]
    assert reply["ok"] is False and reply["error"]["code"] == "bad_request"
    unknown = await client.command("no.such.command")
    assert unknown["ok"] is False and unknown["error"]["status"] == 400
    bad_data = await client.command("ping", data="x")  # type: ignore[arg-type]
    assert bad_data["ok"] is False and bad_data["error"]["code"] == "validation_failed"
    assert (await client.command("ping"))["ok"] is True


async def test_each_user_gets_only_their_own_events_in_every_tab(server, clients):
    token_a, alice = await server.register("alice")
    token_b, bob = await server.register("bob")
    tab1, tab2, other = [await connect(server, t) for t in (token_a, token_a, token_b)]
    clients.extend([tab1, tab2, other])
    for client in (tab1, tab2, other):
        await client.next_of("hello")
    await server.app.events.publish(user_channel(alice["id"]), event("message", {"body": "for alice"}))
    for tab in (tab1, tab2):
        frame = await tab.next()
        assert frame == {"type": "message", "data": {"body": "for alice"}}
    # Bob's socket answers a ping with nothing before it: no event of Alice's reached it.
    other.send({"type": "ping", "ref": "p"})
    assert (await other.next())["type"] == "reply"


async def test_admin_may_watch_another_users_channel_and_a_user_may_not(server, clients):
    admin_token, _ = await server.admin()
    token_a, alice = await server.register("alice2")
    token_b, bob = await server.register("bob2")
    with pytest.raises(HTTPClientError) as info:
        await connect(server, token_b, query=f"userId={alice['id']}")
    assert info.value.code == 403
    with pytest.raises(HTTPClientError) as info:
        await connect(server, admin_token, query="userId=999999")
    assert info.value.code == 404
    watcher = await connect(server, admin_token, query=f"userId={alice['id']}")
    clients.append(watcher)
    assert (await watcher.next_of("hello"))["data"]["userId"] == alice["id"]
    await server.app.events.publish(user_channel(alice["id"]), event("chat", {"id": "1@c.us"}))
    assert (await watcher.next())["type"] == "chat"


async def test_connections_are_counted_in_the_admin_stats_hook(server, clients):
    token, _ = await server.register("counted")
    hub = server.app.state["websocket"]
    before = hub.connections
    client = await connect(server, token)
    clients.append(client)
    await client.next_of("hello")
    assert hub.connections == before + 1
    stats = {}
    for part in await call_hook(server.app.plugins, "admin_stats", app=server.app):
        stats.update(part or {})
    assert stats["websocket"]["connections"] == before + 1
    client.close()
    for _ in range(100):
        if hub.connections == before:
            break
        await asyncio.sleep(0.02)
    assert hub.connections == before


async def test_a_slow_consumer_is_closed_while_the_others_continue(make_server, clients):
    server = await make_server(websocket={"queue_size": 8})
    token, user = await server.register("slowpoke")
    hub = server.app.state["websocket"]
    fast = await connect(server, token)
    clients.append(fast)
    await fast.next_of("hello")
    # The slow client never reads: its TCP buffers fill, then its queue, then it is closed.
    slow_conn = await websocket_connect(server.ws_url + f"?token={token}")
    assert hub.connections == 2
    payload = "x" * 32_000
    sent = 0
    while hub.connections == 2 and sent < 5000:
        await server.app.events.publish(user_channel(user["id"]), event("message", {"n": sent, "pad": payload}))
        frame = await fast.next()
        assert frame["data"]["n"] == sent
        sent += 1
    assert hub.connections == 1, f"the slow socket was never closed after {sent} events"
    for n in range(sent, sent + 20):
        await server.app.events.publish(user_channel(user["id"]), event("message", {"n": n}))
        assert (await fast.next())["data"]["n"] == n
    slow_conn.close()


async def test_a_revoked_token_closes_the_socket(make_server, clients):
    server = await make_server(websocket={"reauth_interval": 0.1})
    token, user = await server.register("revoked")
    client = await connect(server, token)
    clients.append(client)
    await client.next_of("hello")
    await server.app.db.execute("UPDATE users SET token_version = token_version + 1 WHERE id = ?", (user["id"],))
    while (frame := await client.next()) is not None:
        pass
    assert client.conn.close_code == 4401


async def test_a_deleted_users_socket_is_closed(make_server, clients):
    server = await make_server(websocket={"reauth_interval": 0.1})
    token, user = await server.register("deleted")
    client = await connect(server, token)
    clients.append(client)
    await client.next_of("hello")
    await server.app.db.execute("DELETE FROM users WHERE id = ?", (user["id"],))
    while (frame := await client.next()) is not None:
        pass
    assert client.conn.close_code == 4401


async def test_redis_backend_delivers_across_processes_exactly_once(make_server, tmp_path, db_url, clients):
    prefix = f"wamulti-test-{uuid.uuid4().hex[:8]}:"
    secret = "s" * 40
    events_cfg = {"backend": "redis", "redis_url": "redis://127.0.0.1:6379/0", "redis_prefix": prefix}
    local = await make_server(events=events_cfg, auth={"bcrypt_rounds": 4, "jwt_secret": secret})
    token, user = await local.register("everywhere")
    env = {
        "WAMULTI_DATA_DIR": str(tmp_path / "other"),
        "WAMULTI_DATABASE__URL": db_url,
        "WAMULTI_EVENTS__BACKEND": "redis",
        "WAMULTI_EVENTS__REDIS_PREFIX": prefix,
        "WAMULTI_AUTH__JWT_SECRET": secret,
    }
    with spawned_server(["--config", str(DEFAULT_CONFIG)], cwd=tmp_path, env=env) as (_, port):
        remote_url = f"ws://127.0.0.1:{port}/ws?token={token}"
        remote = Client(await websocket_connect(remote_url))
        here = await connect(local, token)
        clients.extend([remote, here])
        await remote.next_of("hello")
        await here.next_of("hello")
        for n in range(5):
            await local.app.events.publish(user_channel(user["id"]), event("message", {"n": n}))
        for client in (remote, here):
            got = [(await client.next())["data"]["n"] for _ in range(5)]
            assert got == list(range(5))
            client.send({"type": "ping", "ref": "end"})
            assert (await client.next())["type"] == "reply"  # nothing was delivered twice


async def test_the_token_never_reaches_a_log_line(server, clients, caplog):
    token, _ = await server.register("quiet")
    with caplog.at_level(logging.DEBUG):
        client = await connect(server, token)
        clients.append(client)
        await client.next_of("hello")
        with pytest.raises(HTTPClientError):
            await websocket_connect(server.ws_url + "?token=" + token[:-3] + "xyz")
        await client.command("ping")
    assert caplog.records, "nothing was logged at all"
    for record in caplog.records:
        text = record.getMessage() + str(record.args or "")
        assert token not in text and token[:-3] not in text


async def test_admin_stats_count_websocket_connections(server, clients):
    admin_token, _ = await server.admin()
    token, _ = await server.register("stats")
    before = (await server.client.get("/api/admin/stats", headers=bearer(admin_token))).json()["websocket"]["connections"]
    client = await connect(server, token)
    clients.append(client)
    await client.next_of("hello")
    after = (await server.client.get("/api/admin/stats", headers=bearer(admin_token))).json()["websocket"]["connections"]
    assert after == before + 1

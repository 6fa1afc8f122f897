"""Sessions across three server processes sharing MariaDB, Redis and one simulator (docs/scaling.md).

One scenario, in steps, because every step needs linked sessions and linking is the slow part:
placement within per-node limits, REST calls and websocket commands answered alike on every node,
the admin lists, SIGKILL of a node (its sessions CONNECTED again elsewhere without a QR, messages
that arrived meanwhile stored once), a full cluster's 503, SIGTERM handoff and a rolling restart
of every node (no QR, nothing lost), and a node cut off from Redis closing its browsers before
its leases can expire. The simulator is sampled throughout: never two pages online for a phone.

Four sessions with ``whatsapp.max_sessions: 2`` per node (not thirty: the test machines have two
cores shared by several runs; the placement code does not change with the count).

SQLite cannot be shared by several server processes (one file on one machine): the cluster needs
MySQL/MariaDB, so this scenario takes a MariaDB database of its own rather than both databases.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from typing import Any, Iterator

import pytest
import redis.asyncio as redis
from cryptography.fernet import Fernet
from tornado.websocket import websocket_connect

from server.app import build_app
from server.config import ConfigError
from tests.support.cluster import Node
from tests.support.server import (
    DEFAULT_CONFIG,
    TEST_PASSWORD,
    assert_error,
    bearer,
    mysql_database,
    test_config,
)
from tests.support.tcpproxy import TcpProxy
from tests.support.whatsapp import link, shown_qr, wa_config, wait_for
from tests.support.ws import Client

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
TIMINGS = {"lease_ttl": 6.0, "renew_interval": 1.0, "fence_margin": 3.0, "heartbeat_interval": 0.5,
           "node_ttl": 2.0, "scan_interval": 0.5}
PHONES = ["79990000101", "79990000102", "79990000103", "79990000104"]
FRIEND = "79990000199"


def node_config(fakewa: Any, db_url: str, prefix: str, key: str, node_id: str, redis_url: str) -> dict[str, Any]:
    return {
        "database": {"url": db_url},
        "logging": {"level": "INFO"},
        "auth": {"jwt_secret": "c" * 40, "bcrypt_rounds": 4, "register_max_per_address": 100_000,
                 "login_max_failures_per_address": 100_000, "login_max_failures_global": 100_000},
        "events": {"backend": "redis", "redis_url": REDIS_URL, "redis_prefix": prefix + "events:"},
        **wa_config(fakewa, max_sessions=2, cluster={
            "enabled": True, "redis_url": redis_url, "prefix": prefix, "node_id": node_id, "snapshot_key": key,
            **TIMINGS}),
    }


class Cluster:
    """The nodes, and what the test asks of them."""

    def __init__(self, nodes: dict[str, Node], redis_client: Any, prefix: str) -> None:
        self.nodes, self.redis, self.prefix = nodes, redis_client, prefix

    def live(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.alive()]

    async def owner(self, user_id: int) -> str | None:
        value = await self.redis.get(f"{self.prefix}lease:{user_id}")
        return value.split(" ")[0] if value else None

    async def status(self, node: Node, token: str, user_id: int) -> Any:
        return await node.client.get(f"/api/whatsapp/status/{user_id}", headers=bearer(token))


async def back_connected(cluster: Cluster, node: Node, token: str, user_id: int, seen: list[str],
                         refusals: list[Any], timeout: float = 60) -> str:
    """Poll the session's status through ``node`` until CONNECTED on a live node; keep every state
    seen and every 503 (which must carry Retry-After)."""
    async def connected() -> str | None:
        response = await cluster.status(node, token, user_id)
        if response.status_code == 503:
            refusals.append(response)
            return None
        assert response.status_code == 200, response.text
        state = response.json()["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        owner = await cluster.owner(user_id)
        return owner if state == "CONNECTED" and owner and cluster.nodes[owner].alive() else None

    return await wait_for(connected, timeout, message=f"session {user_id} CONNECTED again")


async def stored_once(node: Node, token: str, user_id: int, body: str) -> None:
    async def count() -> int:
        response = await node.client.get(f"/api/whatsapp/chats/{user_id}/{FRIEND}@c.us/messages",
                                         headers=bearer(token), params={"limit": 100})
        if response.status_code == 503:
            return 0
        assert response.status_code == 200, response.text
        return sum(1 for m in response.json()["items"] if m["body"] == body)

    await wait_for(count, 30, interval=0.1, message=f"message {body!r} stored")
    await asyncio.sleep(1.0)  # a second copy would come right behind the first
    assert await count() == 1


async def one_device_online_each(fakewa: Any, samples: list[int]) -> None:
    """Sample the simulator: at no moment may a phone have two pages online."""
    while True:
        for phone in await fakewa.phones():
            if phone["phone"] in PHONES:
                samples.append(int(phone["online"]))
        await asyncio.sleep(0.1)


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB database: a cluster's nodes share one database, which SQLite (a file one
    process opens) cannot be, so this scenario runs on MariaDB only."""
    with mysql_database() as url:
        yield url


async def test_sessions_spread_fail_over_hand_off_and_fence(fakewa, tmp_path, mysql_url):
    db_url = mysql_url
    prefix = f"wamulti-test-{uuid.uuid4().hex[:8]}:"
    key = Fernet.generate_key().decode()
    proxy = await TcpProxy("127.0.0.1", 6379).start()
    direct = redis.from_url(REDIS_URL, decode_responses=True)
    nodes = {
        node_id: Node(node_id, tmp_path, node_config(fakewa, db_url, prefix, key, node_id,
                                                     proxy.url if node_id == "n3" else REDIS_URL))
        for node_id in ("n1", "n2", "n3")
    }
    cluster = Cluster(nodes, direct, prefix)
    samples: list[int] = []
    sampler = asyncio.ensure_future(one_device_online_each(fakewa, samples))
    try:
        await asyncio.gather(*(n.start() for n in nodes.values()))
        n1, n2, n3 = nodes["n1"], nodes["n2"], nodes["n3"]
        await wait_for(lambda: _node_count(n1, cluster), 20, interval=0.1, message="three nodes announced")
        admin = await _admin(n1)

        # -- placement: four starts, sent to whichever node, spread within max_sessions 2 -----------
        users = []
        for i, phone in enumerate(PHONES):
            entry = list(nodes.values())[i % 3]
            token, user = await _register(entry, f"cl{i}_{uuid.uuid4().hex[:4]}")
            response = await entry.client.post(f"/api/whatsapp/start/{user['id']}", headers=bearer(token))
            assert response.status_code == 202, response.text
            other = list(nodes.values())[(i + 1) % 3]
            await fakewa.scan(await shown_qr(_Via(other), token, user["id"]), phone, f"Cluster {i}")
            seen: list[str] = []
            await back_connected(cluster, other, token, user["id"], seen, [])
            users.append((token, user, phone))
        loads = await _loads(n2, admin)
        assert sum(loads.values()) == 4 and max(loads.values()) <= 2 and len(loads) == 3, loads

        # -- any node serves any user, and the lists say which node holds what -----------------------
        token, user, phone = users[0]
        answers = [(await cluster.status(n, token, user["id"])).json() for n in nodes.values()]
        assert all(a["state"] == "CONNECTED" and a["phone"] == phone for a in answers), answers
        for n in nodes.values():
            sent = await n.client.post(f"/api/whatsapp/send/{user['id']}", headers=bearer(token),
                                       json={"to": FRIEND, "message": f"from {n.id}"})
            assert sent.status_code == 201, sent.text
        for n in nodes.values():  # websocket commands too, on every node
            socket = Client(await websocket_connect(f"ws://127.0.0.1:{n.port}/ws?token={token}"))
            try:
                hello = await socket.next_of("hello")
                assert hello["data"]["session"]["state"] == "CONNECTED", hello  # wherever the session runs
                reply = await socket.command("message.send", {"to": FRIEND, "message": f"ws via {n.id}"})
                assert reply["ok"] and reply["data"]["body"] == f"ws via {n.id}", reply
                bad = await socket.command("message.send", {"to": FRIEND})
                assert not bad["ok"] and bad["error"]["code"] == "validation_failed", bad
            finally:
                socket.close()
        listed = (await n3.client.get("/api/admin/whatsapp-sessions", headers=bearer(admin))).json()["items"]
        assert {s["userId"]: s["node"] for s in listed} == {
            u["id"]: await cluster.owner(u["id"]) for _, u, _ in users}
        other_user = users[1]
        refused = await n1.client.get(f"/api/whatsapp/status/{other_user[1]['id']}", headers=bearer(token))
        assert refused.status_code == 403  # forwarded or not, another user's session stays theirs

        # Every login is in the database before a node dies.
        await wait_for(lambda: _snapshots(direct, db_url, [u["id"] for _, u, _ in users]), 30, interval=0.1, message="four snapshots")

        # -- SIGKILL of a node holding sessions: they come back elsewhere, no QR, nothing lost ------
        victim = max((n1, n2), key=lambda n: loads.get(n.id, 0))
        moved = [(t, u, p) for t, u, p in users if await cluster.owner(u["id"]) == victim.id]
        assert moved
        survivor = n2 if victim is n1 else n1
        started = time.monotonic()
        victim.kill()
        arrived = [f"while {victim.id} was down, to {u['id']}" for _, u, _ in moved]
        for (_, _, p), body in zip(moved, arrived):
            await fakewa.incoming(p, FRIEND, body, "Friend")
        refusals: list[Any] = []
        for t, u, _ in moved:
            seen = []
            owner = await back_connected(cluster, survivor, t, u["id"], seen, refusals)
            assert owner != victim.id and "QR" not in seen, seen
        failover = time.monotonic() - started
        print(f"\nfailover after SIGKILL: {failover:.1f}s for {len(moved)} session(s) "
              f"(lease_ttl {TIMINGS['lease_ttl']:g}s)")
        for (t, u, _), body in zip(moved, arrived):
            await stored_once(survivor, t, u["id"], body)
        assert all(r.headers.get("Retry-After", "").isdigit() for r in refusals)

        # -- two nodes left with 2 sessions each: the cluster is full -------------------------------
        token5, user5 = await _register(survivor, f"full_{uuid.uuid4().hex[:4]}")
        full = await survivor.client.post(f"/api/whatsapp/start/{user5['id']}", headers=bearer(token5))
        assert full.status_code == 503 and full.headers["Retry-After"].isdigit(), full.text
        assert full.json()["error"]["code"] == "unavailable"

        # -- the dead node comes back; SIGTERM of another hands its sessions over at once -----------
        await victim.start()
        await wait_for(lambda: _node_count(n3, cluster), 20, interval=0.1, message="three nodes announced again")
        handoff = await drain(cluster, fakewa, survivor, victim, users)
        print(f"handoff after SIGTERM: {handoff:.1f}s")

        # -- a rolling restart of the other nodes, one at a time: no QR, nothing lost --------------
        await survivor.start()
        for leaving, via in ((n3, n1), (victim, n3)):  # every node restarted once; n3 ends with sessions
            await wait_for(lambda: _node_count(n1, cluster), 20, interval=0.1, message="three nodes announced")
            seconds = await drain(cluster, fakewa, leaving, via, users)
            print(f"rolling restart: {leaving.id} handed over in {seconds:.1f}s")
            await leaving.start()
        await wait_for(lambda: _node_count(n1, cluster), 20, interval=0.1, message="three nodes announced")

        # -- n3 cut off from Redis: its browsers close before its leases can expire -----------------
        fenced = {u["id"]: p for _, u, p in users if await cluster.owner(u["id"]) == "n3"}
        assert fenced, "n3 holds no session"
        proxy.pause()
        expired_first = []

        async def all_offline() -> bool:
            online = 0
            for uid, phone in fenced.items():
                info = await fakewa.phone(phone)
                if any(d["online"] for d in info["devices"]):
                    online += 1
                elif await direct.pttl(f"{prefix}lease:{uid}") <= 0:
                    expired_first.append(uid)
            return online == 0

        await wait_for(all_offline, TIMINGS["lease_ttl"] + 10, message="n3's browsers closed")
        assert not expired_first, f"leases expired before n3 closed the browsers of {expired_first}"
        assert all([await direct.pttl(f"{prefix}lease:{uid}") > 0 for uid in fenced])
        assert samples and max(samples) == 1, "a phone had two pages online at once"
    except BaseException:
        for n in nodes.values():
            print(f"--- log of {n.id} ---\n{n.tail()}")
        raise
    finally:
        sampler.cancel()
        proxy.resume()
        await asyncio.gather(*(n.close() for n in nodes.values()), return_exceptions=True)
        await proxy.close()
        keys = [k async for k in direct.scan_iter(match=f"{prefix}*")]
        if keys:
            await direct.delete(*keys)
        await direct.aclose()


async def drain(cluster: Cluster, fakewa: Any, leaving: Node, via: Node, users: list) -> float:
    """SIGTERM ``leaving``; its sessions must come back CONNECTED elsewhere without a QR, and a
    message sent to each meanwhile be stored once. The seconds until the last one is back."""
    handed = [(t, u, p) for t, u, p in users if await cluster.owner(u["id"]) == leaving.id]
    assert handed, f"{leaving.id} holds no session"
    started = time.monotonic()
    leaving.term()
    arrived = [f"while {leaving.id} drained (life {leaving.lives}), to {u['id']}" for _, u, _ in handed]
    for (_, _, p), body in zip(handed, arrived):
        await fakewa.incoming(p, FRIEND, body, "Friend")
    for t, u, _ in handed:
        seen: list[str] = []
        owner = await back_connected(cluster, via, t, u["id"], seen, [])
        assert owner != leaving.id and "QR" not in seen, seen
    seconds = time.monotonic() - started
    await leaving.terminate()
    for (t, u, _), body in zip(handed, arrived):
        await stored_once(via, t, u["id"], body)
    return seconds


class _Via:
    """What tests.support.whatsapp.shown_qr needs of a server: a client."""

    def __init__(self, node: Node) -> None:
        self.client = node.client


async def _register(node: Node, username: str) -> tuple[str, dict]:
    response = await node.client.post("/api/auth/register", json={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()["token"], response.json()["user"]


async def _admin(node: Node) -> str:
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "server.cli", "--config", str(node.config_path),
                                                    "create-admin", "--username", "root", "--password", TEST_PASSWORD],
                                   cwd=node.dir, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    response = await node.client.post("/api/auth/login", json={"username": "root", "password": TEST_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["token"]


async def _node_count(node: Node, cluster: Cluster) -> bool:
    keys = [k async for k in cluster.redis.scan_iter(match=f"{cluster.prefix}node:*")]
    return len(keys) == 3


async def _loads(node: Node, admin: str) -> dict[str, int]:
    response = await node.client.get("/api/admin/nodes", headers=bearer(admin))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    for item in items:
        assert item["sessions"] == len(item["sessionIds"]) <= item["capacity"] == 2
        assert item["heartbeatAge"] < TIMINGS["node_ttl"]
    return {item["id"]: item["sessions"] for item in items}


async def _snapshots(_: Any, db_url: str, user_ids: list[int]) -> bool:
    from urllib.parse import urlparse

    import pymysql

    url = urlparse(db_url)
    conn = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", database=url.path.lstrip("/"))
    try:
        with conn.cursor() as cur:
            marks = ", ".join(["%s"] * len(user_ids))
            cur.execute(f"SELECT COUNT(*) FROM wa_session_snapshots WHERE user_id IN ({marks})", user_ids)
            return cur.fetchone()[0] == len(user_ids)
    finally:
        conn.close()


# -- one process: what needs no second server ------------------------------------------------------
async def test_without_a_cluster_the_nodes_list_is_this_process(make_server, fakewa):
    """whatsapp.cluster.enabled false (the default): no Redis is touched, one node named 'local'."""
    server = await make_server(**wa_config(fakewa))
    admin, _ = await server.admin()
    token, user = await server.register()
    await link(server, fakewa, token, user["id"], "79990000111", "Solo")
    nodes = (await server.client.get("/api/admin/nodes", headers=bearer(admin))).json()
    assert nodes["total"] == 1
    assert nodes["items"][0] == {"id": "local", "url": None, "capacity": 5, "sessions": 1, "sessionIds": [user["id"]],
                                 "heartbeatAge": 0.0, "draining": False, "current": True}
    listed = (await server.client.get("/api/admin/whatsapp-sessions", headers=bearer(admin))).json()["items"]
    assert [(s["userId"], s["node"]) for s in listed] == [(user["id"], None)]
    assert_error(await server.client.get("/api/admin/nodes", headers=bearer(token)), 403, "forbidden")
    assert server.app.state["whatsapp"].cluster is None


@pytest.mark.parametrize("section, field", [
    ({"lease_ttl": 5, "fence_margin": 5}, "fence_margin"),
    ({"lease_ttl": 10, "renew_interval": 3, "fence_margin": 5}, "renew_interval"),
    ({"snapshot_key": "not a key"}, "snapshot_key"),
    ({"heartbeat_interval": 6, "node_ttl": 6}, "heartbeat_interval"),
])
def test_cluster_settings_that_cannot_work_stop_the_start(tmp_path, section, field):
    with pytest.raises(ConfigError, match=f"whatsapp.cluster.{field}"):
        build_app(DEFAULT_CONFIG, overrides=test_config(tmp_path, "sqlite:///x.db", whatsapp={"cluster": section}),
                  environ={}, entry_points=False)


async def test_a_stale_owner_closes_its_browser_and_its_writes_are_refused(make_server, fakewa, db_url):
    """Another node took the lease (a higher epoch, in Redis and in the database): this node's next
    renewal is refused, it closes the browser at once, and the STOPPED it would have written, and
    its login snapshot, are refused: the newer owner's row stays as it wrote it."""
    prefix = f"wamulti-test-{uuid.uuid4().hex[:8]}:"
    direct = redis.from_url(REDIS_URL, decode_responses=True)
    try:
        server = await make_server(**wa_config(fakewa, cluster={
            "enabled": True, "redis_url": REDIS_URL, "prefix": prefix, "node_id": "solo",
            "snapshot_key": Fernet.generate_key().decode(), **TIMINGS}))
        token, user = await server.register()
        uid = user["id"]
        await link(server, fakewa, token, uid, "79990000121", "Stale")
        await wait_for(lambda: server.app.db.fetch_value(
            "SELECT COUNT(*) FROM wa_session_snapshots WHERE user_id = ?", (uid,)), 20, interval=0.1, message="the login snapshot")
        snapshot = await server.app.db.fetch_one("SELECT version, epoch FROM wa_session_snapshots WHERE user_id = ?", (uid,))
        lease = await direct.get(f"{prefix}lease:{uid}")
        assert lease == f"solo {snapshot['epoch']}"
        newer = await direct.incr(f"{prefix}epoch:{uid}")
        await direct.set(f"{prefix}lease:{uid}", f"elsewhere {newer}", px=60_000)
        await server.app.db.execute("UPDATE wa_sessions SET epoch = ?, state = 'CONNECTED' WHERE user_id = ?", (newer, uid))

        async def offline() -> bool:
            return not (await fakewa.phone("79990000121"))["devices"][0]["online"]

        await wait_for(offline, 10, interval=0.1, message="the stale owner's browser closed")
        await asyncio.sleep(1.0)  # what the stale owner might still write
        row = await server.app.db.fetch_one("SELECT state, epoch FROM wa_sessions WHERE user_id = ?", (uid,))
        assert (row["state"], int(row["epoch"])) == ("CONNECTED", newer)
        after = await server.app.db.fetch_one("SELECT version, epoch FROM wa_session_snapshots WHERE user_id = ?", (uid,))
        assert after == snapshot
        assert await direct.get(f"{prefix}lease:{uid}") == f"elsewhere {newer}"  # not released by the stale owner
        assert server.app.state["whatsapp"].manager.status(str(uid))["state"] == "STOPPED"
        gone = await server.client.get(f"/api/whatsapp/status/{uid}", headers=bearer(token))
        assert_error(gone, 503, "unavailable")  # its owner 'elsewhere' sends no heartbeat
        assert gone.headers["Retry-After"].isdigit()
    finally:
        keys = [k async for k in direct.scan_iter(match=f"{prefix}*")]
        if keys:
            await direct.delete(*keys)
        await direct.aclose()

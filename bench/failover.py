"""Figure 6: cluster failover (docs/scaling.md) — seconds until the sessions of a SIGKILLed node are
CONNECTED again on another node, and seconds until those of a SIGTERMed (draining) node are.

Three `wamulti serve` nodes share a MariaDB database made for the run, Redis (db 0 under a random
key prefix, removed afterwards) and one simulator, with the short cluster timings of
tests/test_cluster.py. Not run by ``--quick``: linking ten browsers and waiting out a lease does not
fit a smoke run (bench/__main__.py leaves it out there).
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlparse

from bench.common import (
    HOST,
    Context,
    WamultiServer,
    bearer,
    describe_error,
    expect,
    mysql_database,
    register,
    run_cli,
    start_simulator,
    start_wamulti,
    write_config,
)
from bench.load import HttpError, Response, percentile, request

REDIS_URL = "redis://127.0.0.1:6379/0"
# The timings of tests/test_cluster.py: a dead node's leases run out after 6 s.
TIMINGS = {"lease_ttl": 6.0, "renew_interval": 1.0, "fence_margin": 3.0, "heartbeat_interval": 0.5,
           "node_ttl": 2.0, "scan_interval": 0.5}
SESSIONS = 10
FRIEND = "79991009999"
NODES = ("n1", "n2", "n3")
LINK_BOUND = 300.0  # seconds for all sessions to be linked and their logins snapshotted
MOVE_BOUND = 120.0  # seconds for the sessions of a killed or draining node to be CONNECTED elsewhere
STORED_BOUND = 30.0  # seconds for a message sent while a session moved to be stored

HOW = (
    "Three `wamulti serve` nodes (whatsapp.cluster enabled, `max_sessions: {per_node}` each so that one node "
    "can end up with every session) share a MariaDB database made for the run, Redis (db 0, a random key "
    "prefix, removed afterwards) and one simulator (tests/fakewa, realistic delays); the nodes and their "
    "Chromiums run on the server core, the simulator and the bench on the other. Cluster timings as in "
    "tests/test_cluster.py: lease_ttl {lease_ttl:g} s, renew_interval {renew_interval:g} s, fence_margin "
    "{fence_margin:g} s, heartbeat_interval {heartbeat_interval:g} s, node_ttl {node_ttl:g} s, scan_interval "
    "{scan_interval:g} s; portable logins on (a Fernet key). {sessions} users are linked (REST start sent to "
    "the nodes in turn, placement picks the node; QR scanned in the simulator; CONNECTED), and their login "
    "snapshots are in the database before anything is measured. **Failover**: the node holding the most "
    "sessions gets SIGKILL; for each of its sessions, the seconds from the kill until its status, asked of a "
    "surviving node every 0.1 s, is CONNECTED on a live node (the lease in Redis names it); the seconds until "
    "that status first answers at all (503 while the dead node's lease runs, STARTING once a node took the "
    "session) are given beside them. A QR seen on the way fails the figure. **Handoff**: then another node holding sessions gets SIGTERM (it drains); the "
    "same seconds from the signal. Right after each signal, the simulator delivers one message to each "
    "moving session; each must be stored exactly once. Bounds: {link:.0f} s to link, {move:.0f} s per move."
)


def _seconds(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0, "p50_s": None, "max_s": None}
    return {"samples": len(values), "p50_s": round(percentile(values, 50), 2), "max_s": round(max(values), 2)}


async def _call(node: WamultiServer, method: str, path: str, token: str | None = None, body: Any = None) -> Response:
    headers = bearer(token) if token else None
    return await request(HOST, node.port, method, path, headers=headers, body=body, timeout=30)


class Cluster:
    def __init__(self, nodes: dict[str, WamultiServer], redis_client: Any, prefix: str, sim_port: int) -> None:
        self.nodes, self.redis, self.prefix, self.sim_port = nodes, redis_client, prefix, sim_port

    def alive(self, node_id: str | None) -> bool:
        return node_id in self.nodes and self.nodes[node_id].proc.popen.poll() is None

    async def owner(self, user_id: int) -> str | None:
        value = await self.redis.get(f"{self.prefix}lease:{user_id}")
        return value.split(" ")[0] if value else None

    async def announced(self) -> int:
        return len([k async for k in self.redis.scan_iter(match=f"{self.prefix}node:*")])

    async def sim(self, method: str, path: str, body: Any = None) -> Response:
        return await request(HOST, self.sim_port, method, path, body=body, timeout=30)


async def _until(predicate: Any, deadline: float, what: str, interval: float = 0.1) -> Any:
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def _state(node: WamultiServer, user: dict[str, Any]) -> str | None:
    """The session's state as ``node`` answers (forwarded to its owner); None on a 503 or a broken call."""
    try:
        response = await _call(node, "GET", f"/api/whatsapp/status/{user['id']}", user["token"])
    except (TimeoutError, HttpError, OSError):
        return None
    if response.status == 503:
        return None
    return expect(response, 200, "session status").json()["state"]


async def _link(cluster: Cluster, user: dict[str, Any], deadline: float) -> None:
    """Scan the QR the session shows with the user's phone, then wait until CONNECTED."""
    via = user["via"]
    for _ in range(4):  # a QR ref may rotate between reading and scanning on a busy machine
        async def qr() -> str | None:
            response = await _call(via, "GET", f"/api/whatsapp/qr/{user['id']}", user["token"])
            return response.json()["qr"] if response.status == 200 else None

        ref = await _until(qr, deadline, f"a QR for user {user['id']}", 0.2)
        scan = await cluster.sim("POST", "/__sim/scan", {"qr": ref, "phone": user["phone"], "pushname": user["name"]})
        if scan.status == 200:
            break
    else:
        raise RuntimeError(f"could not scan the QR of user {user['id']} four times over")

    async def connected() -> bool:
        return await _state(via, user) == "CONNECTED"

    await _until(connected, deadline, f"user {user['id']} CONNECTED", 0.2)


async def _snapshots(db_url: str, user_ids: list[int]) -> bool:
    import pymysql

    def count() -> int:
        url = urlparse(db_url)
        conn = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                               password=url.password or "", database=url.path.lstrip("/"))
        try:
            with conn.cursor() as cur:
                marks = ", ".join(["%s"] * len(user_ids))
                cur.execute(f"SELECT COUNT(*) FROM wa_session_snapshots WHERE user_id IN ({marks})", user_ids)
                return cur.fetchone()[0]
        finally:
            conn.close()

    return await asyncio.to_thread(count) == len(user_ids)


async def _back(cluster: Cluster, via: WamultiServer, user: dict[str, Any], gone: str, began: float,
                deadline: float) -> dict[str, Any]:
    """Poll the session through ``via`` until CONNECTED on a live node other than ``gone``."""
    seen: list[str] = []
    answered = None  # the first answer after the signal: a node has taken the session (503 before)
    while True:
        state = await _state(via, user)
        if state is not None and answered is None:
            answered = round(time.monotonic() - began, 2)
        if state is not None and (not seen or seen[-1] != state):
            seen.append(state)
        if state == "QR":
            raise RuntimeError(f"user {user['id']}'s session showed a QR after node {gone} went: {seen}")
        if state == "CONNECTED":
            owner = await cluster.owner(user["id"])
            if owner and owner != gone and cluster.alive(owner):
                return {"user_id": user["id"], "seconds": round(time.monotonic() - began, 2), "to": owner,
                        "first_answer_s": answered, "states": seen}
        if time.monotonic() > deadline:
            raise RuntimeError(f"user {user['id']}'s session was not CONNECTED elsewhere within "
                               f"{MOVE_BOUND:.0f}s of node {gone} going; states seen {seen}")
        await asyncio.sleep(0.1)


async def _stored_once(via: WamultiServer, user: dict[str, Any], body: str) -> int:
    """How many times ``body`` is stored in the user's chat with FRIEND, once it is there (and a
    second later, when a double would have followed the first)."""
    async def count() -> int:
        response = await _call(via, "GET", f"/api/whatsapp/chats/{user['id']}/{FRIEND}@c.us/messages?limit=100",
                               user["token"])
        if response.status != 200:
            return 0
        return sum(1 for m in response.json()["items"] if m.get("body") == body)

    await _until(count, time.monotonic() + STORED_BOUND, f"the message to user {user['id']} stored", 0.2)
    await asyncio.sleep(1.0)
    return await count()


async def _move(cluster: Cluster, users: list[dict[str, Any]], gone: str, via: WamultiServer, signal_it: Any,
                label: str) -> dict[str, Any]:
    """Signal node ``gone``, deliver a message to each of its sessions, and time their return."""
    moving = [u for u in users if u["owner"] == gone]
    began = time.monotonic()
    signal_it()
    bodies = {u["id"]: f"{label}: to {u['id']} while {gone} went" for u in moving}
    for u in moving:
        expect(await cluster.sim("POST", f"/__sim/phones/{u['phone']}/incoming",
                                 {"from": FRIEND, "body": bodies[u["id"]], "pushname": "Friend"}),
               200, "an incoming message")
    deadline = began + MOVE_BOUND
    back = await asyncio.gather(*(_back(cluster, via, u, gone, began, deadline) for u in moving))
    seconds = [b["seconds"] for b in back]
    stored = [await _stored_once(via, u, bodies[u["id"]]) for u in moving]
    for u, b in zip(moving, back):
        u["owner"] = b["to"]
    answers = [b["first_answer_s"] for b in back if b["first_answer_s"] is not None]
    return {"node": gone, "sessions": len(moving), **_seconds(seconds),
            "first_answer_p50_s": round(percentile(answers, 50), 2) if answers else None, "per_session": back,
            "messages_sent": len(moving), "messages_stored_once": sum(1 for n in stored if n == 1),
            "messages_doubled": sum(1 for n in stored if n > 1)}


def _loads(users: list[dict[str, Any]]) -> dict[str, int]:
    return {n: sum(1 for u in users if u["owner"] == n) for n in NODES}


async def run(ctx: Context) -> dict[str, Any]:
    import redis.asyncio as redis
    from cryptography.fernet import Fernet

    prefix = f"wamulti-bench-{uuid.uuid4().hex[:8]}:"
    out: dict[str, Any] = {"how": HOW.format(per_node=SESSIONS, sessions=SESSIONS, link=LINK_BOUND, move=MOVE_BOUND,
                                             **TIMINGS),
                           "sessions": SESSIONS, "lease_ttl": TIMINGS["lease_ttl"], "timings": TIMINGS}
    out["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    direct = redis.from_url(REDIS_URL, decode_responses=True)
    servers: dict[str, WamultiServer] = {}
    sim_proc = None
    try:
        with mysql_database() as db_url:
            try:
                sim_proc, sim_url = start_simulator(ctx.procs, cores=ctx.cores.load, fast=False)
                key = Fernet.generate_key().decode()
                overrides = {
                    "logging": {"level": "INFO"},
                    # One token secret for all: a token from one node is good on every node.
                    "auth": {"jwt_secret": secrets.token_urlsafe(32), "bcrypt_rounds": 4,
                             "register_max_per_address": 1000},
                    "events": {"backend": "redis", "redis_url": REDIS_URL, "redis_prefix": prefix + "events:"},
                    "whatsapp": {"url": sim_url, "max_sessions": SESSIONS, "ready_timeout": 90,
                                 "heartbeat_interval": 1.0, "heartbeat_timeout": 3.0,
                                 "restart_backoff_initial": 0.2, "restart_backoff_max": 1.0,
                                 "send_rate": {"per_minute": 6000, "burst": 100, "jitter_seconds": 0},
                                 "cluster": {"enabled": True, "redis_url": REDIS_URL, "prefix": prefix,
                                             "snapshot_key": key, **TIMINGS}},
                }

                def node_overrides(node_id: str) -> dict[str, Any]:
                    return {**overrides, "whatsapp": {**overrides["whatsapp"], "cluster": {
                        **overrides["whatsapp"]["cluster"], "node_id": node_id}}}

                # The schema once, before three processes would race to make it.
                run_cli(write_config(ctx.workdir / "failover-n1", db_url, node_overrides("n1")), "migrate")
                for node_id in NODES:
                    servers[node_id] = start_wamulti(ctx.procs, f"failover-{node_id}", db_url, cores=ctx.cores.server,
                                                     overrides=node_overrides(node_id),
                                                     profile_to=ctx.profile_path("failover", node_id))
                cluster = Cluster(servers, direct, prefix, urlparse(sim_url).port or 80)

                async def three() -> bool:
                    return await cluster.announced() == 3

                await _until(three, time.monotonic() + 30, "three nodes announced")
                expect(await cluster.sim("POST", "/__sim/phones", {"phone": FRIEND, "pushname": "Friend"}), 200,
                       "the friend joins WhatsApp")

                # -- link: starts one at a time (placement reads the loads the nodes announce), scans at once --
                began = time.monotonic()
                deadline = began + LINK_BOUND
                users: list[dict[str, Any]] = []
                for i in range(SESSIONS):
                    entry = servers[NODES[i % 3]]
                    conn = await entry.connect()
                    try:
                        token, user = await register(conn, f"failover{i:02d}_{uuid.uuid4().hex[:4]}")
                    finally:
                        conn.close()
                    u = {"id": user["id"], "token": token, "phone": f"7999100{i:04d}", "name": f"Failover {i}",
                         "via": servers[NODES[(i + 1) % 3]]}
                    expect(await _call(entry, "POST", f"/api/whatsapp/start/{u['id']}", token), 202, "session start")

                    async def leased(uid: int = u["id"]) -> str | None:
                        return await cluster.owner(uid)

                    await _until(leased, deadline, f"a lease for user {u['id']}")
                    await asyncio.sleep(TIMINGS["heartbeat_interval"] + 0.3)  # the next start sees this load
                    users.append(u)
                await asyncio.gather(*(_link(cluster, u, deadline) for u in users))
                ids = [u["id"] for u in users]
                await _until(lambda: _snapshots(db_url, ids), deadline, "every login snapshot", 0.5)
                for u in users:
                    u["owner"] = await cluster.owner(u["id"])
                out["link_seconds"] = round(time.monotonic() - began, 1)
                out["placement"] = _loads(users)
                print(f"bench: failover: {SESSIONS} sessions linked in {out['link_seconds']:.0f}s, "
                      f"placed {out['placement']}", file=sys.stderr, flush=True)

                # -- (1) SIGKILL of the node holding the most sessions -----------------------------------------
                victim = max(NODES, key=lambda n: (out["placement"][n], n))
                survivors = [n for n in NODES if n != victim]
                killed = servers[victim].proc.popen
                out["failover"] = await _move(cluster, users, victim, servers[survivors[0]], killed.kill, "failover")
                killed.wait(10)
                print(f"bench: failover: {out['failover']['sessions']} sessions back after SIGKILL in "
                      f"p50 {out['failover']['p50_s']}s, max {out['failover']['max_s']}s", file=sys.stderr, flush=True)

                # -- (2) SIGTERM of another node holding sessions: it drains ----------------------------------
                loads = _loads(users)
                leaving = max(survivors, key=lambda n: (loads[n], n))
                staying = next(n for n in survivors if n != leaving)
                out["placement_after_failover"] = loads
                drained = servers[leaving].proc.popen
                out["handoff"] = await _move(cluster, users, leaving, servers[staying], drained.terminate, "handoff")
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.to_thread(drained.wait), 60)
                out["handoff"]["exited"] = drained.poll() is not None
                print(f"bench: failover: {out['handoff']['sessions']} sessions handed over on SIGTERM in "
                      f"p50 {out['handoff']['p50_s']}s, max {out['handoff']['max_s']}s", file=sys.stderr, flush=True)

                problems = [f"{label}: {fig['messages_sent'] - fig['messages_stored_once']} message(s) not stored once"
                            for label, fig in (("failover", out["failover"]), ("handoff", out["handoff"]))
                            if fig["messages_stored_once"] != fig["messages_sent"]]
                if problems:
                    out["error"] = "; ".join(problems)
            except Exception:
                for server in servers.values():
                    print(f"--- log of {server.proc.name} ---\n{server.proc.tail(30)}", file=sys.stderr)
                raise
            finally:  # the nodes stop while their database still exists
                for server in servers.values():
                    ctx.procs.stop(server.proc, timeout=60)
                if sim_proc is not None:
                    ctx.procs.stop(sim_proc)
    except Exception as exc:  # noqa: BLE001 - what was measured so far is kept
        out["error"] = describe_error(exc)
    finally:
        with contextlib.suppress(Exception):
            keys = [k async for k in direct.scan_iter(match=f"{prefix}*")]
            if keys:
                await direct.delete(*keys)
        await direct.aclose()
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out["summary"] = {
        "lease_ttl_s": TIMINGS["lease_ttl"],
        "failover_p50_s": out.get("failover", {}).get("p50_s"), "failover_max_s": out.get("failover", {}).get("max_s"),
        "handoff_p50_s": out.get("handoff", {}).get("p50_s"), "handoff_max_s": out.get("handoff", {}).get("max_s"),
    }
    return out

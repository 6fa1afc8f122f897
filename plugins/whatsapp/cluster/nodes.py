"""Nodes: each process announces itself with a heartbeat; placement picks where a session runs.

A node's record is ``<prefix>node:<id>``, JSON, set with a time to live of ``cluster.node_ttl``
at every heartbeat (and its id added to the set ``<prefix>nodes``): a node that stops beating
disappears by itself. The sessions a node holds
are the set ``<prefix>owners:<id>`` (added to by the acquiring script, rewritten at each
heartbeat), so a node's load is exact the moment it takes a lease. ``<prefix>profiles`` maps
each session to the node that last ran it, whose disk still has its profile.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    id: str
    url: str
    capacity: int
    beat: float
    draining: bool = False
    load: int = 0
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> short status

    @property
    def age(self) -> float:
        return max(0.0, time.time() - self.beat)

    @property
    def free(self) -> int:
        return 0 if self.draining else max(0, self.capacity - self.load)


class Registry:
    def __init__(self, redis: Any, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def owners_key(self, node: str) -> str:
        return f"{self.prefix}owners:{node}"

    async def beat(self, node: Node, held: list[str], ttl: float) -> None:
        record = {"id": node.id, "url": node.url, "capacity": node.capacity, "beat": time.time(),
                  "draining": node.draining, "sessions": node.sessions}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self.prefix}node:{node.id}", json.dumps(record), px=int(ttl * 1000))
            pipe.sadd(f"{self.prefix}nodes", node.id)
            pipe.delete(self.owners_key(node.id))
            if held:
                pipe.sadd(self.owners_key(node.id), *held)
            await pipe.execute()

    async def forget(self, node_id: str) -> None:
        await self.redis.delete(f"{self.prefix}node:{node_id}", self.owners_key(node_id))
        await self.redis.srem(f"{self.prefix}nodes", node_id)

    async def nodes(self) -> list[Node]:
        """Every node with a live heartbeat, with its exact load."""
        ids = sorted(await self.redis.smembers(f"{self.prefix}nodes"))
        if not ids:
            return []
        values = await self.redis.mget([f"{self.prefix}node:{i}" for i in ids])
        gone = [i for i, v in zip(ids, values) if not v]
        if gone:  # their records expired: no heartbeat for node_ttl
            await self.redis.srem(f"{self.prefix}nodes", *gone)
        records = [json.loads(v) for v in values if v]
        async with self.redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.scard(self.owners_key(record["id"]))
            loads = await pipe.execute()
        return sorted((Node(id=r["id"], url=r["url"], capacity=int(r["capacity"]), beat=float(r["beat"]),
                            draining=bool(r.get("draining")), load=int(n), sessions=r.get("sessions") or {})
                       for r, n in zip(records, loads)), key=lambda n: n.id)

    async def remember_profile(self, session: str, node_id: str) -> None:
        await self.redis.hset(f"{self.prefix}profiles", session, node_id)

    async def profile_nodes(self, sessions: list[str]) -> dict[str, str | None]:
        if not sessions:
            return {}
        values = await self.redis.hmget(f"{self.prefix}profiles", sessions)
        return dict(zip(sessions, values))


def choose(nodes: list[Node], preferred: str | None = None) -> Node | None:
    """The node a session should start on: the one holding its profile when it has room, else the
    least loaded (by share of its capacity) that has room; None when the cluster is full."""
    open_ = [n for n in nodes if n.free > 0]
    for node in open_:
        if node.id == preferred:
            return node
    return min(open_, key=lambda n: (n.load / max(n.capacity, 1), n.load, n.id), default=None)


def assign(nodes: list[Node], sessions: list[str], profiles: dict[str, str | None]) -> dict[str, str]:
    """Where each orphaned session should go, placing them one by one as ``choose`` would. Every
    node computes the same answer from the same records, so they spread without talking; the
    lease decides when two disagree."""
    loads = {n.id: n.load for n in nodes}
    out: dict[str, str] = {}
    for session in sessions:
        view = [Node(n.id, n.url, n.capacity, n.beat, n.draining, loads[n.id]) for n in nodes]
        node = choose(view, profiles.get(session))
        if node is None:
            break
        out[session] = node.id
        loads[node.id] += 1
    return out

"""One node of a cluster: the leases it holds, its heartbeat, fencing, takeovers and routing.

- **Ownership.** A session runs only on the node holding its lease (``leases.py``). The lease is
  renewed every ``renew_interval``; a node that has not had a renewal confirmed for
  ``lease_ttl - fence_margin`` seconds (Redis unreachable, the process stalled) closes that
  browser at once, before the lease can expire and another node can start it (self-fencing).
  A renewal answered "not yours" fences at once too.
- **Writes carry the epoch.** Taking a lease writes its epoch into ``wa_sessions.epoch`` (only
  upwards); every state the session reports is checked against it before it is stored, and a
  node whose epoch is behind is fenced instead: a stale owner's writes are refused. Snapshots
  keep the highest epoch too (``snapshots.py``).
- **Takeover.** Every ``scan_interval`` each node looks for sessions recorded as linked
  (CONNECTED or DISCONNECTED) that no lease covers — their node died or drained — and takes
  those that ``nodes.assign`` gives it, restoring the portable login before the browser starts.
- **Routing.** ``route`` says where a REST call for a session goes (``base.py`` forwards it).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from plugins.whatsapp.cluster.forward import FORWARDED, unavailable
from plugins.whatsapp.cluster.leases import Holder, Leases
from plugins.whatsapp.cluster.nodes import Node, Registry, assign, choose
from plugins.whatsapp.cluster.snapshots import (
    PARTS,
    SnapshotStore,
    SnapshotTooLarge,
    pack,
    read_marker,
    unpack,
    write_marker,
)
from server.errors import ApiError

log = logging.getLogger("wamulti.cluster")

LINKED = ("CONNECTED", "DISCONNECTED")
PLACING = ("start", "restart", "pair")  # /api/whatsapp/<this>/<userId>: may start a session
AFTER_LINK_DELAY = 2.0  # seconds after CONNECTED before the login is snapshotted (the page stores it first)
REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class Cluster:
    def __init__(self, app: Any, manager: Any, max_sessions: int) -> None:
        cfg = app.config["whatsapp"]["cluster"]
        self.app, self.manager, self.cfg, self.max_sessions = app, manager, cfg, max_sessions
        self.node_id: str = cfg["node_id"] or f"{socket.gethostname()}-{secrets.token_hex(3)}"
        self.ttl: float = cfg["lease_ttl"]
        self.held: dict[str, Holder] = {}
        self.confirmed: dict[str, float] = {}  # monotonic time the last confirmed renewal was sent
        self.fenced: set[str] = set()
        self.draining = False
        self.snapshots = SnapshotStore(app.db, cfg["snapshot_key"], cfg["snapshot_max_bytes"]) if cfg["snapshot_key"] else None
        self._states: dict[str, str] = {}
        self._orphaned_since: dict[str, float] = {}
        self._loops: list[asyncio.Task] = []
        self._tasks: set[asyncio.Task] = set()
        self._stopping: set[asyncio.Task] = set()  # snapshot-and-release after a stop: awaited at close
        self.redis: Any = None

    # -- life ------------------------------------------------------------------------------------
    async def start(self) -> None:
        import redis.asyncio as redis

        url = self.cfg["redis_url"] or self.app.config["events"]["redis_url"]
        # Short socket timeouts: a renewal that hangs must fail fast, so fencing happens in time.
        self.redis = redis.from_url(url, decode_responses=True, socket_timeout=1.0, socket_connect_timeout=1.0)
        await self.redis.ping()
        self.leases = Leases(self.redis, self.cfg["prefix"])
        self.registry = Registry(self.redis, self.cfg["prefix"])
        await self.registry.forget(self.node_id)  # what a previous life of this node left
        if self.snapshots is None:
            log.warning("cluster.snapshot_key is not set: a session moved to another node will show a QR code")
        for loop in (self._renew_loop, self._fence_loop, self._heartbeat_loop, self._scan_loop, self._snapshot_loop):
            self._loops.append(asyncio.create_task(loop(), name=f"cluster-{loop.__name__}"))
        log.info("cluster node %s started (lease %.0fs)", self.node_id, self.ttl)

    def begin_drain(self) -> None:
        """Shutting down: take nothing more, tell the others at once; the sessions' stops then
        snapshot and release each lease, and the other nodes take them over."""
        self.draining = True
        self._spawn(self._beat())

    async def close(self) -> None:
        if self._stopping:
            await asyncio.wait(list(self._stopping), timeout=self.ttl)
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        if self.redis is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.registry.forget(self.node_id)
            with contextlib.suppress(*REDIS_ERRORS):
                await self.redis.aclose()

    # -- taking and giving back ---------------------------------------------------------------------
    async def claim(self, key: str) -> Holder:
        """The lease of ``key`` for this node (kept when held), its epoch stored, its login
        restored: then, and only then, its browser may start. 503 when another node holds it."""
        if key in self.held:
            return self.held[key]
        if self.draining:
            raise unavailable("This server is shutting down; try again.", 1)
        sent = time.monotonic()
        try:
            holder = await self.leases.acquire(key, self.node_id, self.ttl)
        except REDIS_ERRORS as exc:
            log.warning("session %s: could not take its lease: %s", key, exc)
            raise unavailable("The cluster's coordination store is not answering; try again shortly.", 2) from None
        if holder is None:
            raise unavailable("The session is being started on another server; try again.", 1)
        self.held[key], self.confirmed[key] = holder, sent
        self.fenced.discard(key)
        try:
            if not await self._store_epoch(int(key), holder.epoch):
                raise unavailable("A newer owner of this session exists; try again.", 1)
            await self._restore(key)
            with contextlib.suppress(*REDIS_ERRORS):
                await self.registry.remember_profile(key, self.node_id)
        except BaseException:
            await self.abandon(key)
            raise
        log.info("session %s: lease taken (epoch %d)", key, holder.epoch)
        return holder

    async def abandon(self, key: str) -> None:
        """Give the lease back without a snapshot (a start that did not happen)."""
        holder = self.held.pop(key, None)
        self.confirmed.pop(key, None)
        if holder is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.leases.release(key, holder)
                await self.redis.srem(self.registry.owners_key(self.node_id), key)

    async def _store_epoch(self, user_id: int, epoch: int) -> bool:
        db = self.app.db
        if (await db.execute("UPDATE wa_sessions SET epoch = ? WHERE user_id = ? AND epoch < ?", (epoch, user_id, epoch))).rowcount:
            return True
        current = await db.fetch_value("SELECT epoch FROM wa_sessions WHERE user_id = ?", (user_id,))
        if current is None:
            from server.db import IntegrityError
            from server.timeutil import now_db

            now = now_db()
            with contextlib.suppress(IntegrityError):
                await db.execute("INSERT INTO wa_sessions (user_id, state, since, updated_at, epoch) VALUES (?, 'STOPPED', ?, ?, ?)",
                                 (user_id, now, now, epoch))
            return await self._epoch_ok(user_id, epoch)
        return int(current) <= epoch

    async def _epoch_ok(self, user_id: int, epoch: int) -> bool:
        current = await self.app.db.fetch_value("SELECT epoch FROM wa_sessions WHERE user_id = ?", (user_id,))
        return current is None or int(current) <= epoch

    def _fence(self, key: str, why: str) -> None:
        """Stop ``key``'s browser at once: this node may no longer be its owner."""
        holder = self.held.pop(key, None)
        self.confirmed.pop(key, None)
        if holder is None:
            return
        self.fenced.add(key)
        log.warning("session %s: %s (epoch %d): closing its browser", key, why, holder.epoch)
        self._spawn(self._fence_stop(key, holder))

    async def _fence_stop(self, key: str, holder: Holder) -> None:
        await self.manager.fence(key)
        with contextlib.suppress(*REDIS_ERRORS):
            await self.leases.release(key, holder)  # only when still ours (it may have expired)
            await self.redis.srem(self.registry.owners_key(self.node_id), key)

    # -- the sessions' events ------------------------------------------------------------------------
    def guard(self, listener: Callable[[str, str, dict], Any]) -> Callable[[str, str, dict], Any]:
        """Wrap the listener that stores and publishes a session's events: only the lease holder's
        events get through, its states only while the database has no newer epoch; a stop
        snapshots the login and gives the lease back."""
        async def guarded(key: str, kind: str, data: dict[str, Any]) -> None:
            holder = self.held.get(key)
            if holder is None or key in self.fenced:
                log.debug("session %s: %s event dropped: this node does not own the session", key, kind)
                return
            if kind == "state" and not await self._epoch_ok(int(key), holder.epoch):
                self._fence(key, "a newer owner wrote its epoch")
                return
            await listener(key, kind, data)
            if kind == "state":
                self._after_state(key, holder, str(getattr(data["state"], "value", data["state"])))

        return guarded

    def _after_state(self, key: str, holder: Holder, state: str) -> None:
        before, self._states[key] = self._states.get(key), state
        if state == "CONNECTED" and before != "CONNECTED":
            self._spawn(self._snapshot_later(key, holder, AFTER_LINK_DELAY))
        elif state == "STOPPED":
            self._states.pop(key, None)
            task = asyncio.ensure_future(self._stopped(key, holder))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def _stopped(self, key: str, holder: Holder) -> None:
        """A clean stop (the browser is closed, its files written): snapshot, then release."""
        if self.held.get(key) is not holder:
            return
        try:
            await self.snapshot(key, holder)
        finally:
            if self.held.get(key) is holder and self.manager.status(key)["state"] == "STOPPED":
                await self.abandon(key)
                log.info("session %s: lease released (epoch %d)", key, holder.epoch)

    # -- portable logins ------------------------------------------------------------------------------
    def _profile(self, key: str) -> Any:
        return self.manager.settings.profiles_dir / key

    async def snapshot(self, key: str, holder: Holder) -> None:
        if self.snapshots is None or self.held.get(key) is not holder:
            return
        profile = self._profile(key)
        if not any((profile / part).is_dir() for part in PARTS):
            return
        try:
            packed = await asyncio.to_thread(pack, profile, self.snapshots.max_bytes)
            version = await self.snapshots.save(int(key), holder.epoch, self.node_id, packed)
        except SnapshotTooLarge as exc:
            log.warning("session %s: login not snapshotted: %s", key, exc)
            return
        except Exception as exc:
            log.warning("session %s: login snapshot failed: %s", key, type(exc).__name__)
            log.debug("session %s: login snapshot failed", key, exc_info=True)
            return
        if version:
            write_marker(profile, version)
            log.info("session %s: login snapshotted (%d bytes, epoch %d)", key, len(packed), holder.epoch)

    async def _snapshot_later(self, key: str, holder: Holder, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.manager.status(key)["state"] == "CONNECTED":
            await self.snapshot(key, holder)

    async def _restore(self, key: str) -> None:
        """The database's login into this node's profile, when it is newer than the one on disk."""
        if self.snapshots is None:
            return
        profile = self._profile(key)
        version = await self.snapshots.version(int(key))
        if not version or version == read_marker(profile):
            return
        try:
            loaded = await self.snapshots.load(int(key))
            if loaded is None:
                return
            version, packed = loaded
            await asyncio.to_thread(unpack, packed, profile)
            write_marker(profile, version)
            log.info("session %s: login restored from the database", key)
        except Exception as exc:
            log.warning("session %s: login not restored: %s", key, type(exc).__name__)
            log.debug("session %s: login not restored", key, exc_info=True)

    async def forget_login(self, user_id: int) -> None:
        if self.snapshots is not None:
            await self.snapshots.forget(user_id)

    # -- loops ---------------------------------------------------------------------------------------
    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg["renew_interval"])
            leases, sent = dict(self.held), time.monotonic()
            try:
                results = await asyncio.wait_for(self.leases.renew(leases, self.ttl), self.cfg["renew_interval"])
            except REDIS_ERRORS as exc:
                log.warning("lease renewal failed: %s", exc or type(exc).__name__)
                continue
            for key, ok in results.items():
                if self.held.get(key) is not leases[key]:
                    continue
                if ok:
                    self.confirmed[key] = sent
                else:
                    self._fence(key, "lease lost")

    async def _fence_loop(self) -> None:
        """Close every browser whose lease may expire soon without a confirmed renewal."""
        limit = self.ttl - self.cfg["fence_margin"]
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            for key in [k for k, at in self.confirmed.items() if now - at > limit]:
                self._fence(key, f"no lease renewal confirmed for {now - self.confirmed[key]:.1f}s")

    def url(self) -> str | None:
        if self.cfg["internal_url"]:
            return self.cfg["internal_url"]
        if not self.app.port:
            return None
        host = self.app.config.server.host
        host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        return f"http://{host}:{self.app.port}"

    def node(self) -> Node | None:
        url = self.url()
        if url is None:
            return None
        summaries = {}
        for key in self.held:
            raw = self.manager.status(key)
            summaries[key] = {name: raw.get(name) for name in ("state", "phone", "lid", "pushname", "since", "error",
                                                               "lastActivity")}
            summaries[key]["state"] = str(getattr(raw["state"], "value", raw["state"]))
        return Node(self.node_id, url, self.max_sessions, time.time(), self.draining, len(self.held), summaries)

    async def _beat(self) -> None:
        node = self.node()
        if node is not None:
            await self.registry.beat(node, list(self.held), self.cfg["node_ttl"])

    async def _heartbeat_loop(self) -> None:
        while self.url() is None:  # the first beat once the server listens
            await asyncio.sleep(0.05)
        while True:
            try:
                await self._beat()
            except REDIS_ERRORS as exc:
                log.warning("cluster heartbeat failed: %s", exc or type(exc).__name__)
            await asyncio.sleep(self.cfg["heartbeat_interval"])

    async def _scan_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg["scan_interval"])
            if self.draining:
                continue
            try:
                await self._take_orphans()
            except REDIS_ERRORS as exc:
                log.debug("takeover scan: %s", exc)
            except Exception:
                log.exception("takeover scan failed")

    async def _take_orphans(self) -> None:
        from plugins.whatsapp.store import sessions_to_restore

        keys = [str(u) for u in await sessions_to_restore(self.app.db) if str(u) not in self.held]
        holders = await self.leases.holders(keys)
        orphans = [k for k in keys if holders[k] is None]
        now = time.monotonic()
        self._orphaned_since = {k: self._orphaned_since.get(k, now) for k in orphans}
        if not orphans:
            return
        nodes = await self.registry.nodes()
        if self.node_id not in {n.id for n in nodes}:
            return  # not announced yet
        plan = assign(nodes, orphans, await self.registry.profile_nodes(orphans))
        # Ours by the plan; and any orphan nobody took for a while (its planned node failed to).
        patience = 3 * self.cfg["scan_interval"] + 2
        mine = [k for k in orphans if plan.get(k) == self.node_id or now - self._orphaned_since[k] > patience]
        for key in mine:
            if self.draining or len(self.held) >= self.max_sessions or self.manager.live_count() >= self.max_sessions:
                return
            await self.take_over(key)

    async def take_over(self, key: str) -> bool:
        try:
            await self.claim(key)
        except ApiError:
            return False  # another node was quicker, or this one is draining
        try:
            await self.manager.start(key)
        except Exception as exc:  # noqa: BLE001 - leave it to another node
            log.warning("session %s: takeover failed: %s", key, exc)
            await self.abandon(key)
            return False
        self._orphaned_since.pop(key, None)
        log.info("session %s: taken over by node %s", key, self.node_id)
        return True

    async def _snapshot_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg["snapshot_interval"])
            for key, holder in list(self.held.items()):
                if self.manager.status(key)["state"] == "CONNECTED":
                    await self.snapshot(key, holder)

    # -- routing -------------------------------------------------------------------------------------
    async def route(self, request: Any, user_id: int) -> tuple[str, str] | None:
        """Where a REST call for ``user_id``'s session is served: None here, else (node id, URL)."""
        return await self.locate(user_id, placing=_placing(request), forwarded=bool(request.headers.get(FORWARDED)))

    async def locate(self, user_id: int, *, placing: bool = False, forwarded: bool = False) -> tuple[str, str] | None:
        """Where ``user_id``'s session is served: None here, else (node id, URL) of its owner, or
        for a start (``placing``) of the node placement picks. 503 with Retry-After while the
        owner is dying, while the session moves, or when no node has room for a start. A call
        another node ``forwarded`` here is served here or refused, never forwarded again."""
        key = str(user_id)
        if key in self.held:
            return None
        try:
            return await self._locate(key, placing, forwarded)
        except REDIS_ERRORS:
            raise unavailable("The cluster's coordination store is not answering; try again shortly.", 2) from None

    async def _locate(self, key: str, placing: bool, forwarded: bool) -> tuple[str, str] | None:
        holder = (await self.leases.holders([key]))[key]
        if holder is not None and holder.node == self.node_id:
            return None  # a lease of this node's previous life: it expires by itself
        nodes = await self.registry.nodes()
        me = self.node()
        if me is not None and all(n.id != self.node_id for n in nodes):
            nodes.append(me)  # listening, not announced yet: this node has room all the same
        live = {n.id: n for n in nodes}
        if holder is not None:
            owner = live.get(holder.node)
            if owner is not None and not forwarded:
                return owner.id, owner.url
            # Its owner stopped beating (dying, or cut off): the lease expires, another node takes it.
            left = await self.leases.ttl(key) or 1.0
            raise unavailable("The server running this WhatsApp session is not answering; the session moves "
                              "to another server shortly.", left + self.cfg["scan_interval"])
        if forwarded:
            return None
        if placing:
            preferred = (await self.registry.profile_nodes([key])).get(key)
            chosen = choose(nodes, preferred)
            if chosen is None:
                raise unavailable("Every server runs as many WhatsApp sessions as it may; try again later.", 30)
            return None if chosen.id == self.node_id else (chosen.id, chosen.url)
        state = await self.app.db.fetch_value("SELECT state FROM wa_sessions WHERE user_id = ?", (int(key),))
        if state in LINKED:
            raise unavailable("The session is moving to another server; try again shortly.", self.cfg["scan_interval"] + 1)
        return None

    async def nodes(self) -> list[Node]:
        return await self.registry.nodes()

    async def remote_status(self, user_id: int) -> dict[str, Any] | None:
        """The session's status as its owner's last heartbeat described it (None: not held elsewhere)."""
        key = str(user_id)
        if key in self.held:
            return None
        try:
            for node in await self.registry.nodes():
                if node.id != self.node_id and key in node.sessions:
                    return node.sessions[key]
        except REDIS_ERRORS:
            return None
        return None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _placing(request: Any) -> bool:
    parts = request.path.split("/")
    return request.method == "POST" and len(parts) >= 4 and parts[1:3] == ["api", "whatsapp"] and parts[3] in PLACING

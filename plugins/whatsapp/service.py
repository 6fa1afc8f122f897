"""The whatsapp plugin's heart: the session manager, wired to the database and the event bus.

``WhatsAppService`` is the façade everything else uses — the REST handlers, the websocket
commands, the admin list and other plugins' hooks: start, stop, restart, logout, status, qr;
send, react, edit, delete, read; media. Nothing outside the plugin's service modules reaches its
session manager or its send queues. What the sessions report is stored and published by
``ingest``; what users do with messages is ``messaging``; files are ``media``.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from clients import (
    BrowserNotFound, ManagerSettings, NotConnected, SessionError, SessionLimitReached, SessionManager, chat_id_of,
)
from server import whatsapp_api
from server.db import DatabaseUnavailable
from server.errors import ApiError, Conflict, RateLimited, Unavailable
from server.timeutil import iso

from plugins.whatsapp import store
from plugins.whatsapp.cluster import Cluster
from plugins.whatsapp.directory import Directory
from plugins.whatsapp.ingest import Ingest, api_status
from plugins.whatsapp.media import MediaService
from plugins.whatsapp.messaging import Messaging
from plugins.whatsapp.plugin_api import PluginAPI
from plugins.whatsapp.plugin_events import PluginEvents
from plugins.whatsapp.ratelimit import TokenBucket
from plugins.whatsapp.sendqueue import SendQueues
from plugins.whatsapp.store import people

PAIRING_PER_MINUTE, PAIRING_BURST = 1.0, 3  # pairing codes a session may ask for

log = logging.getLogger("wamulti.whatsapp")
audit = logging.getLogger("wamulti.audit")


def manager_settings(app: Any) -> ManagerSettings:
    cfg = app.config["whatsapp"]
    return ManagerSettings(
        profiles_dir=Path(app.config.data_dir) / "sessions",
        url=cfg["url"],
        chromium=cfg["chromium"],
        max_sessions=cfg["max_sessions"],
        max_concurrent_starts=cfg["max_concurrent_starts"],
        idle_timeout=cfg["idle_timeout"],
        ready_timeout=cfg["ready_timeout"],
        heartbeat_interval=cfg["heartbeat_interval"],
        heartbeat_timeout=cfg["heartbeat_timeout"],
        restart_backoff=(cfg["restart_backoff_initial"], cfg["restart_backoff_max"]),
        max_restarts=cfg["max_restarts"],
        headless=cfg["headless"],
        extra_args=tuple(cfg["chromium_args"]),
        link_timeout=cfg["link_timeout"],
    )


class WhatsAppService:
    """Owns every session of this process; stores what they report and publishes it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        cfg = app.config["whatsapp"]
        self.max_sessions = cfg["max_sessions"]
        self.manager = SessionManager(manager_settings(app))
        self.media = MediaService(app, self.manager)
        rate = cfg["send_rate"]
        self.queues = SendQueues(rate["per_minute"], rate["burst"], rate["jitter_seconds"], cfg["send_queue"])
        self.plugin_events = PluginEvents(app, cfg["plugin_queue_size"])
        self.ingest = Ingest(app, self.media, self.plugin_events)
        self.messaging = Messaging(app, self.manager, self.queues, self.ingest, self.media)
        self.directory = Directory(app, self.manager, self.ingest)
        # With cluster.enabled, sessions are shared with other processes (docs/scaling.md): only
        # the lease holder's events are stored, and only while its epoch is the newest.
        self.cluster = Cluster(app, self.manager, self.max_sessions) if cfg["cluster"]["enabled"] else None
        self.manager.add_listener(self.cluster.guard(self.ingest) if self.cluster else self.ingest)
        self.manager.add_listener(self._after_event)
        self._pairing_requests: dict[int, TokenBucket] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- status ---------------------------------------------------------
    def status(self, user_id: int) -> dict[str, Any]:
        return api_status(user_id, self.manager.status(str(user_id)))

    api_status = staticmethod(api_status)

    async def hello_status(self, user_id: int) -> dict[str, Any]:
        """The status a new websocket is greeted with: in a cluster, the owner's (as its last
        heartbeat said) when another node holds the session."""
        remote = await self.cluster.remote_status(user_id) if self.cluster else None
        return api_status(user_id, remote) if remote else self.status(user_id)

    def qr(self, user_id: int) -> str:
        """The QR payload the session shows; Conflict (with the state) when it shows none."""
        raw = self.manager.status(str(user_id))
        if raw["state"] != "QR" or not raw.get("qr"):
            state = self.status(user_id)["state"]
            raise Conflict(f"The session is not showing a QR code (state {state}).", extra={"state": state})
        return raw["qr"]

    def touch(self, user_id: int) -> None:
        """Any use of a session keeps it from the idle timeout."""
        self.manager.touch(str(user_id))

    async def sessions(self) -> list[dict[str, Any]]:
        """Every session that is not STOPPED, by user id, for the admin list."""
        statuses = self.manager.statuses()
        names: dict[int, str] = {}
        out = []
        nodes: dict[str, str | None] = {key: self.cluster.node_id if self.cluster else None for key in statuses}
        if self.cluster:  # the other nodes' sessions, as their last heartbeat described them
            for node in await self.cluster.nodes():
                for key, raw in node.sessions.items():
                    if key not in statuses and raw.get("state") != "STOPPED":
                        statuses[key], nodes[key] = raw, node.id
        ids = [int(key) for key in statuses]
        if ids:
            marks = ", ".join("?" for _ in ids)
            rows = await self.app.db.fetch_all(f"SELECT id, username FROM users WHERE id IN ({marks})", ids)
            names = {int(r["id"]): r["username"] for r in rows}
        for key, raw in sorted(statuses.items(), key=lambda item: int(item[0])):
            status = api_status(int(key), raw)
            out.append({
                "userId": int(key),
                "username": names.get(int(key)),
                "state": status["state"],
                "phone": status["phone"],
                "since": status["since"],
                "lastActivity": iso(raw.get("lastActivity")) if raw.get("lastActivity") else None,
                "node": nodes[key],
            })
        return out

    async def nodes(self) -> list[dict[str, Any]]:
        """The cluster's live nodes (docs/scaling.md); without a cluster, this process alone."""
        if self.cluster is None:
            keys = sorted(self.manager.statuses(), key=int)
            return [{"id": "local", "url": None, "capacity": self.max_sessions, "sessions": len(keys),
                     "sessionIds": [int(k) for k in keys], "heartbeatAge": 0.0, "draining": False, "current": True}]
        return [{"id": n.id, "url": n.url, "capacity": n.capacity, "sessions": n.load,
                 "sessionIds": sorted(int(k) for k in n.sessions), "heartbeatAge": round(n.age, 3),
                 "draining": n.draining, "current": n.id == self.cluster.node_id}
                for n in await self.cluster.nodes()]

    # -- the session's life ------------------------------------------------
    async def start(self, user_id: int) -> dict[str, Any]:
        """Launch the session's browser (a live session is left alone): Unavailable when the
        session limit is reached or no Chromium is installed."""
        await self._launch(self.manager.start, user_id)
        return self.status(user_id)

    async def restart(self, user_id: int) -> dict[str, Any]:
        await self._launch(self.manager.restart, user_id)
        return self.status(user_id)

    async def stop(self, user_id: int) -> dict[str, Any]:
        """Close the browser, keeping the login."""
        await self.manager.stop(str(user_id))
        return self.status(user_id)

    async def logout(self, user_id: int) -> dict[str, Any]:
        """Log out (WhatsApp unlinks the device) and delete the profile, and what belonged to the
        number that was linked: its chats, messages, contacts and media files."""
        await self.manager.logout(str(user_id))
        if self.cluster:
            await self.cluster.forget_login(user_id)
        await people.forget_number_data(self.app.db, user_id)
        await store.forget_linked_phone(self.app.db, user_id)
        await self.media.forget_user(user_id)
        return self.status(user_id)

    async def screenshot(self, user_id: int, viewer: dict[str, Any]) -> bytes:
        """A PNG of the session's page. A user's WhatsApp is private, so every look is written to
        the ``wamulti.audit`` log: who looked at whose session."""
        audit.info("user %s (%s) took a screenshot of the WhatsApp session of user %s",
                   viewer["id"], viewer["role"], user_id,
                   extra={"audit": "whatsapp.screenshot", "actorId": viewer["id"], "targetUserId": user_id})
        try:
            return await self.manager.screenshot(str(user_id))
        except NotConnected:
            raise Conflict("The session has no browser running; start it first.",
                           extra={"state": self.status(user_id)["state"]}) from None
        except SessionError as exc:
            raise ApiError(502, f"The page did not answer: {exc}") from None

    async def pair(self, user_id: int, phone: str) -> dict[str, Any]:
        """Link by code instead of a QR: starts the session when it is stopped, waits for it to
        show a QR, and asks WhatsApp for a code for ``phone``; ``{code, expiresAt}``. The code
        is typed on the phone (WhatsApp > Linked devices > Link with phone number); WhatsApp
        replaces it a few times, each new one comes as a ``session.code`` frame."""
        key = str(user_id)
        digits = chat_id_of(phone).split("@", 1)[0]
        if self.manager.status(key)["state"] in ("CONNECTED", "DISCONNECTED"):
            raise Conflict("This session is linked already; clear it first to link another number.",
                           extra={"state": self.status(user_id)["state"]})
        if self.manager.status(key)["state"] in ("STOPPED", "FAILED"):
            await self._launch(self.manager.start, user_id)
        deadline = asyncio.get_running_loop().time() + self.app.config["whatsapp"]["ready_timeout"]
        while (state := str(self.manager.status(key)["state"])) != "QR":
            if state in ("STOPPED", "FAILED", "CONNECTED") or asyncio.get_running_loop().time() > deadline:
                raise Conflict(f"The session did not get ready to link (state {state}).", extra={"state": state})
            await asyncio.sleep(0.1)
        bucket = self._pairing_requests.setdefault(user_id, TokenBucket(PAIRING_PER_MINUTE, PAIRING_BURST))
        wait = bucket.take()
        if wait > 0:
            raise RateLimited(wait, "Too many pairing codes asked for this session; wait a little.")
        try:
            code = await self.manager.request_pairing_code(key, digits)
        except SessionError as exc:
            raise ApiError(502, f"WhatsApp gave no pairing code: {exc}") from None
        return {"code": code["code"], "expiresAt": iso(int(code["expiresAt"])) if code.get("expiresAt") else None}

    async def _launch(self, action: Any, user_id: int) -> None:
        if self.cluster:  # the lease first: only its holder may start the browser
            await self.cluster.claim(str(user_id))
        try:
            await action(str(user_id))
        except SessionLimitReached:
            await self._unclaim(user_id)
            raise Unavailable("The server runs as many WhatsApp sessions as it may; try again later.") from None
        except BrowserNotFound as exc:
            await self._unclaim(user_id)
            log.error("cannot start a WhatsApp session: %s", exc)
            raise Unavailable(f"WhatsApp sessions cannot start on this server: {exc}") from None

    async def _unclaim(self, user_id: int) -> None:
        """A start that did not happen gives its lease back."""
        if self.cluster and self.manager.status(str(user_id))["state"] == "STOPPED":
            await self.cluster.abandon(str(user_id))

    # -- messages (see messaging.py) --------------------------------------------
    async def send(self, user_id: int, request: dict[str, Any], sent_by: str = "user") -> dict[str, Any]:
        return await self.messaging.send(user_id, request, sent_by)

    async def react(self, user_id: int, message_id: str, emoji: str) -> dict[str, Any]:
        return await self.messaging.react(user_id, message_id, emoji)

    async def edit(self, user_id: int, message_id: str, body: str) -> dict[str, Any]:
        return await self.messaging.edit(user_id, message_id, body)

    async def delete(self, user_id: int, message_id: str, everyone: bool) -> None:
        await self.messaging.delete(user_id, message_id, everyone)

    async def read(self, user_id: int, chat_id: str) -> dict[str, Any]:
        return await self.messaging.read(user_id, chat_id)

    # -- people and groups (see directory.py) -------------------------------------
    async def contacts(self, user_id: int, q: str | None, limit: int, offset: int) -> tuple[list[dict], int]:
        return await self.directory.contacts(user_id, q, limit, offset)

    async def check_number(self, user_id: int, phone: str) -> dict[str, Any]:
        return await self.directory.check(user_id, phone)

    async def picture(self, user_id: int, chat_id: str) -> Path:
        return await self.directory.picture(user_id, chat_id)

    async def groups(self, user_id: int) -> list[dict[str, Any]]:
        return await self.directory.groups(user_id)

    async def group(self, user_id: int, group_id: str) -> dict[str, Any]:
        return await self.directory.group(user_id, group_id)

    async def create_group(self, user_id: int, name: str, participants: list[str]) -> dict[str, Any]:
        return await self.directory.create_group(user_id, name, participants)

    async def change_participants(self, user_id: int, group_id: str, add: list[str], remove: list[str]) -> dict[str, Any]:
        return await self.directory.change_participants(user_id, group_id, add, remove)

    async def _after_event(self, key: str, kind: str, data: dict[str, Any]) -> None:
        """Once a session synced, its address book is stored too (in the background)."""
        if kind == "sync" and not self.ingest.closing:
            self.spawn(self.directory.refresh_contacts(int(key)))

    # -- the plugin's own life -------------------------------------------------
    async def restore(self) -> None:
        """Start again every session that was connected when the server last stopped (in a
        cluster, the nodes take those sessions over among themselves instead)."""
        if self.cluster:
            return
        try:
            user_ids = await store.sessions_to_restore(self.app.db)
        except DatabaseUnavailable:
            log.warning("could not read sessions to restore: database unavailable")
            return
        for user_id in user_ids[: self.max_sessions]:
            log.info("restoring the WhatsApp session of user %s", user_id)
            try:
                await self.manager.start(str(user_id))
            except Exception:  # noqa: BLE001 - one broken profile must not stop the others
                log.exception("could not restore the session of user %s", user_id)

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def open(self) -> None:
        """Begin serving: files, the plugins' event queues, and the API other plugins use."""
        await self.media.start()
        self.plugin_events.start()
        if self.cluster:
            await self.cluster.start()
        self.app.state[whatsapp_api.STATE_KEY] = PluginAPI(self)

    async def close(self) -> None:
        """Stop every browser; the recorded states stay as they were, for restore at boot."""
        self.app.state.pop(whatsapp_api.STATE_KEY, None)
        self.ingest.closing = True
        for task in list(self._tasks):
            task.cancel()
        await self.queues.close()
        if self.cluster:
            self.cluster.begin_drain()
        await self.manager.close()
        if self.cluster:
            await self.cluster.close()
        await self.plugin_events.close()
        await self.media.close()

    async def forget_user(self, user_id: int) -> None:
        """A deleted user: stop their browser, delete their profile and files, drop their queue."""
        self.ingest.deleted.add(user_id)
        await self.queues.forget(str(user_id))
        await self.manager.logout(str(user_id))
        await self.media.forget_user(user_id)

    # -- stats ------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        by_state: dict[str, int] = {}
        for raw in self.manager.statuses().values():
            state = str(getattr(raw["state"], "value", raw["state"]))
            by_state[state] = by_state.get(state, 0) + 1
        return {"sessions": self.manager.live_count(), "byState": by_state, "maxSessions": self.max_sessions}

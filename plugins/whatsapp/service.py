"""The whatsapp plugin's heart: the session manager, wired to the database and the event bus.

``WhatsAppService`` is the façade everything else uses — the REST handlers, the websocket
commands, the admin list and other plugins' hooks: start, stop, restart, logout, status, qr and
send. Nothing outside this module reaches its session manager or its send limiter.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from pathlib import Path
from typing import Any

from clients import BrowserNotFound, ManagerSettings, NotConnected, SessionLimitReached, SessionManager, chat_id_of
from server.db import DatabaseUnavailable, IntegrityError
from server.errors import Conflict, RateLimited, Unavailable
from server.events import event, user_channel
from server.timeutil import iso

from plugins.whatsapp import store
from plugins.whatsapp.qr import qr_data_url
from plugins.whatsapp.ratelimit import SendLimiter

log = logging.getLogger("wamulti.whatsapp")

RECENT_MESSAGES = 20_000  # message ids remembered per process, to publish each one once
EARLY_ACKS = 5_000  # acks of messages not yet stored, kept until their message arrives


class _Recent(collections.OrderedDict):
    """A bounded mapping that forgets its oldest keys first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any = True) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


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
    )


class WhatsAppService:
    """Owns every session of this process; stores what they report and publishes it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        cfg = app.config["whatsapp"]
        self.max_sessions = cfg["max_sessions"]
        self.manager = SessionManager(manager_settings(app))
        rate = cfg["send_rate"]
        self.limiter = SendLimiter(rate["per_minute"], rate["burst"], rate["jitter_seconds"])
        self.manager.add_listener(self._on_event)
        self._closing = False
        self._deleted: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        # WhatsApp may report a message twice (a replay after reconnecting) and an ack before its
        # message: rows are upserts, and these two keep the websocket frames and the acks right.
        self._published = _Recent(RECENT_MESSAGES)
        self._early_acks = _Recent(EARLY_ACKS)

    # -- status ---------------------------------------------------------
    def status(self, user_id: int) -> dict[str, Any]:
        return self.api_status(user_id, self.manager.status(str(user_id)))

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
        ids = [int(key) for key in statuses]
        names: dict[int, str] = {}
        if ids:
            marks = ", ".join("?" for _ in ids)
            rows = await self.app.db.fetch_all(f"SELECT id, username FROM users WHERE id IN ({marks})", ids)
            names = {int(r["id"]): r["username"] for r in rows}
        out = []
        for key, raw in sorted(statuses.items(), key=lambda item: int(item[0])):
            status = self.api_status(int(key), raw)
            out.append({
                "userId": int(key),
                "username": names.get(int(key)),
                "state": status["state"],
                "phone": status["phone"],
                "since": status["since"],
                "lastActivity": iso(raw.get("lastActivity")) if raw.get("lastActivity") else None,
            })
        return out

    # -- what users do ----------------------------------------------------
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
        """Log out (WhatsApp unlinks the device) and delete the profile."""
        await self.manager.logout(str(user_id))
        return self.status(user_id)

    async def _launch(self, action: Any, user_id: int) -> None:
        try:
            await action(str(user_id))
        except SessionLimitReached:
            raise Unavailable("The server runs as many WhatsApp sessions as it may; try again later.") from None
        except BrowserNotFound as exc:
            log.error("cannot start a WhatsApp session: %s", exc)
            raise Unavailable(f"WhatsApp sessions cannot start on this server: {exc}") from None

    async def send(self, user_id: int, to: str, body: str) -> dict[str, Any]:
        """Rate-limit, send through the session, store, and return the API message.

        Conflict when the session is not CONNECTED, RateLimited over the send rate.
        """
        key = str(user_id)
        if self.manager.status(key)["state"] != "CONNECTED":
            raise self._not_connected(user_id)
        wait = self.limiter.take(key)
        if wait > 0:
            raise RateLimited(wait, "Sending too fast for this WhatsApp session; slow down.")
        await asyncio.sleep(self.limiter.jitter())
        try:
            sent = await self.manager.send_text(key, chat_id_of(to), body)
        except NotConnected:
            self.limiter.give_back(key)
            raise self._not_connected(user_id) from None
        await self.record_sent(user_id, sent)
        self.manager.touch(key)
        return store.api_message(sent)

    def _not_connected(self, user_id: int) -> Conflict:
        return Conflict("The WhatsApp session is not connected.", extra={"state": self.status(user_id)["state"]})

    @staticmethod
    def api_status(user_id: int, raw: dict[str, Any]) -> dict[str, Any]:
        return {
            "userId": user_id,
            "state": str(getattr(raw["state"], "value", raw["state"])),
            "phone": raw.get("phone"),
            "pushname": raw.get("pushname"),
            "since": iso(raw.get("since")) if raw.get("since") else None,
            "error": raw.get("error"),
        }

    # -- life cycle -----------------------------------------------------
    async def restore(self) -> None:
        """Start again every session that was connected when the server last stopped."""
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

    async def close(self) -> None:
        """Stop every browser; the recorded states stay as they were, for restore at boot."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await self.manager.close()

    async def forget_user(self, user_id: int) -> None:
        """A deleted user: stop their browser and delete their profile."""
        self._deleted.add(user_id)
        self.limiter.forget(str(user_id))
        await self.manager.logout(str(user_id))

    # -- events from the sessions ---------------------------------------
    async def _on_event(self, key: str, kind: str, data: dict[str, Any]) -> None:
        user_id = int(key)
        if user_id in self._deleted:
            return
        try:
            await self._handle(user_id, kind, data)
        except (DatabaseUnavailable, IntegrityError) as exc:
            log.warning("could not store a %s event of user %s: %s", kind, user_id, exc)

    async def _handle(self, user_id: int, kind: str, data: dict[str, Any]) -> None:
        db, bus, channel = self.app.db, self.app.events, user_channel(user_id)
        if kind == "state":
            status = self.api_status(user_id, data)
            if not self._closing:
                await store.save_state(db, user_id, data)
            await bus.publish(channel, event("session.status", status))
        elif kind == "qr":
            await bus.publish(channel, event("session.qr", {"qr": data["qr"], "image": qr_data_url(data["qr"])}))
        elif kind == "message":
            data = self._with_early_ack(user_id, data)
            await store.save_message(db, user_id, data)
            await store.touch_chat_for_message(db, user_id, data)
            await self._publish_message(user_id, data)
        elif kind == "ack":
            if not await store.save_ack(db, user_id, data["id"], int(data["ack"])):
                key = (user_id, data["id"])
                self._early_acks.remember(key, max(int(data["ack"]), self._early_acks.get(key, -1)))
            await bus.publish(channel, event("message.ack", {"id": data["id"], "chatId": data["chatId"], "ack": int(data["ack"])}))
        elif kind == "chat":
            await store.save_chat(db, user_id, data)
            chat = await store.get_chat(db, user_id, data["id"])
            if chat is not None:
                await bus.publish(channel, event("chat", chat))
        elif kind == "sync":
            chats = data.get("chats", [])
            messages = [self._with_early_ack(user_id, m) for m in data.get("messages", [])]
            fresh = await store.save_sync(db, user_id, chats, messages)
            # What arrived while nobody listened reaches open sockets like any live message.
            for msg in fresh:
                await store.touch_chat_for_message(db, user_id, msg)
                await self._publish_message(user_id, msg)
            for chat in chats:
                row = await store.get_chat(db, user_id, chat["id"])
                if row is not None:
                    await bus.publish(channel, event("chat", row))
            await bus.publish(channel, event("chats.synced", {"chats": len(chats), "newMessages": len(fresh)}))

    async def record_sent(self, user_id: int, msg: dict[str, Any]) -> None:
        """A message this server sent: stored and published now, because the page's own event for
        it is lost when the session restarts at that moment (the next sync finds it stored)."""
        msg = self._with_early_ack(user_id, msg)
        await store.save_message(self.app.db, user_id, msg)
        await store.touch_chat_for_message(self.app.db, user_id, msg)
        await self._publish_message(user_id, msg)

    async def _publish_message(self, user_id: int, msg: dict[str, Any]) -> None:
        """A ``message`` frame for the user's sockets, once per message."""
        if (user_id, msg["id"]) in self._published:
            return
        self._published.remember((user_id, msg["id"]))
        await self.app.events.publish(user_channel(user_id), event("message", store.api_message(msg)))

    def _with_early_ack(self, user_id: int, msg: dict[str, Any]) -> dict[str, Any]:
        """The message with an ack that arrived before it, if one did."""
        early = self._early_acks.pop((user_id, msg.get("id")), None)
        if early is not None and early > int(msg.get("ack") or 0):
            return {**msg, "ack": early}
        return msg

    # -- stats ------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        by_state: dict[str, int] = {}
        for raw in self.manager.statuses().values():
            state = str(getattr(raw["state"], "value", raw["state"]))
            by_state[state] = by_state.get(state, 0) + 1
        return {"sessions": self.manager.live_count(), "byState": by_state, "maxSessions": self.max_sessions}

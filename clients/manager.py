"""The registry of sessions: limits, one lock per key, automatic restarts, idle stops, events."""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import re
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from . import media
from .base import (
    LIVE_STATES, ManagerSettings, MessageNotFound, NotConnected, PairingUnavailable, SessionError, SessionLimitReached,
    SessionState,
)
from .browser import find_chromium
from .ids import InvalidChatId, chat_id_of, phone_digits
from .session import Session

log = logging.getLogger(__name__)

Listener = Callable[[str, str, dict], "Awaitable[None] | None"]
KEY_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
MEDIA_KINDS = ("image", "video", "audio", "voice", "document", "sticker")


class _Events:
    """Listener calls in order, per session: one queue and one worker task per key, so a slow
    listener delays only its own session's events."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.closed = False
        self._queues: dict[str, asyncio.Queue] = {}
        self._workers: dict[str, asyncio.Task] = {}

    def put(self, key: str, event: str, data: dict) -> None:
        if self.closed:
            return
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._workers[key] = asyncio.ensure_future(self._work(key, queue))
        queue.put_nowait((event, data))

    async def _work(self, key: str, queue: asyncio.Queue) -> None:
        while True:
            event, data = await queue.get()
            try:
                for listener in list(self.listeners):
                    try:
                        result = listener(key, event, data)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:  # noqa: BLE001 - a listener never breaks a session
                        log.exception("listener %r failed on %s event of session %s", listener, event, key)
            finally:
                queue.task_done()

    async def drain(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues.values())), timeout)

    async def close(self) -> None:
        await self.drain()
        self.closed = True
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(BaseException):
                await task
        self._queues.clear()
        self._workers.clear()


class SessionManager:
    """Every WhatsApp Web session of one process: the registry, the limit on live sessions, one
    lock per key (start, stop, restart and logout never interleave), automatic restarts with
    back-off, the idle timeout, and listeners."""

    def __init__(self, settings: ManagerSettings) -> None:
        self.settings = settings
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._events = _Events()
        self._semaphore: asyncio.Semaphore | None = None
        self._restarts: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None
        self._executable: str | None = None
        self._closed = False

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, callback: Listener) -> None:
        self._events.listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._events.listeners.remove(callback)

    def emit(self, key: str, event: str, data: dict[str, Any]) -> None:
        self._events.put(key, event, data)

    # -- status --------------------------------------------------------------------------------------
    def status(self, key: str) -> dict[str, Any]:
        session = self._sessions.get(str(key))
        if session is None:
            return {"state": SessionState.STOPPED.value, "phone": None, "lid": None, "pushname": None, "since": None,
                    "error": None, "qr": None, "lastActivity": None, "limits": None}
        return session.status()

    def statuses(self) -> dict[str, dict[str, Any]]:
        return {k: s.status() for k, s in self._sessions.items() if s.state is not SessionState.STOPPED}

    def live_count(self) -> int:
        return sum(1 for s in self._sessions.values() if s.state is not SessionState.STOPPED)

    def touch(self, key: str) -> None:
        session = self._sessions.get(str(key))
        if session is not None:
            session.touch()

    def browser_pids(self, key: str) -> list[int]:
        """The live processes of the session's browser. Scans /proc: from async code, call it
        through ``asyncio.to_thread``."""
        session = self._sessions.get(str(key))
        return session.browser_pids() if session else []

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self, key: str) -> dict[str, Any]:
        """Schedule the start and return the STARTING status; a live session is left alone."""
        session = self._session(key)
        async with self._lock(session.key):
            if session.state in LIVE_STATES:
                return session.status()
            session.restarts = 0
            await self._start_locked(session)
            return session.status()

    async def stop(self, key: str) -> dict[str, Any]:
        session = self._session(key)
        async with self._lock(session.key):
            await self._stop_locked(session)
            return session.status()

    async def restart(self, key: str) -> dict[str, Any]:
        session = self._session(key)
        async with self._lock(session.key):
            await self._stop_locked(session)
            session.restarts = 0
            await self._start_locked(session)
            return session.status()

    async def logout(self, key: str) -> dict[str, Any]:
        """Log out (in the page when it is open), close the browser and delete the profile."""
        session = self._session(key)
        async with self._lock(session.key):
            self._cancel_restart(session.key)
            await session.logout()
            session.set_state(SessionState.STOPPED, error=None, qr=None, phone=None, lid=None, pushname=None, limits=None)
            return session.status()

    async def fence(self, key: str) -> None:
        """Another process may own this session now: close its browser at once (no grace, no
        automatic restart) and mark it STOPPED."""
        session = self._sessions.get(str(key))
        if session is not None:
            session.abandon()
            await self.stop(session.key)

    async def close(self) -> None:
        """Stop every session and close every browser; the manager cannot start sessions after."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for key in list(self._restarts):
            self._cancel_restart(key)
        await asyncio.gather(*(self.stop(key) for key in list(self._sessions)), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._events.close()

    async def _start_locked(self, session: Session) -> None:
        if self._closed:
            raise SessionError("the session manager is closed")
        if session.state is SessionState.STOPPED and self.live_count() >= self.settings.max_sessions:
            raise SessionLimitReached(
                f"{self.live_count()} WhatsApp sessions are running, the limit (max_sessions) is {self.settings.max_sessions}")
        if self._executable is None:
            self._executable = find_chromium(self.settings.chromium)
        self._cancel_restart(session.key)
        await session.shutdown()  # what a FAILED run left
        session.touch()
        session.begin_start(self._executable, self._start_semaphore())
        self._ensure_sweeper()

    async def _stop_locked(self, session: Session, error: str | None = None) -> None:
        self._cancel_restart(session.key)
        await session.shutdown()
        session.set_state(SessionState.STOPPED, error=error, qr=None)

    # -- automatic restarts (SessionHooks) -----------------------------------------------------------
    def session_failed(self, session: Session, retry: bool) -> bool:
        if not retry or self._closed or session.restarts >= self.settings.max_restarts:
            return False
        first, most = self.settings.restart_backoff
        delay = min(first * 2 ** session.restarts, most)
        self._cancel_restart(session.key)
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, lambda: self._spawn(self._auto_restart(session, handle)))
        self._restarts[session.key] = handle
        log.info("session %s: restarting in %.1fs (restart %d of %d)", session.key, delay,
                 session.restarts + 1, self.settings.max_restarts)
        return True

    async def _auto_restart(self, session: Session, handle: asyncio.TimerHandle) -> None:
        async with self._lock(session.key):
            if self._restarts.get(session.key) is not handle:
                return  # stopped, started or restarted by hand meanwhile
            del self._restarts[session.key]
            if self._closed or session.state is not SessionState.FAILED:
                return
            session.restarts += 1
            try:
                await self._start_locked(session)
            except SessionError as exc:
                session.set_state(SessionState.FAILED, error=f"automatic restart failed: {exc}")

    def session_gave_up(self, session: Session, reason: str) -> None:
        async def stop() -> None:
            async with self._lock(session.key):
                if session.state is SessionState.QR:
                    await self._stop_locked(session, error=reason)

        self._spawn(stop())

    def _cancel_restart(self, key: str) -> None:
        handle = self._restarts.pop(key, None)
        if handle is not None:
            handle.cancel()

    # -- idle timeout ----------------------------------------------------------------------------------
    def _ensure_sweeper(self) -> None:
        if self.settings.idle_timeout and (self._sweeper is None or self._sweeper.done()):
            self._sweeper = asyncio.ensure_future(self._sweep_idle(self.settings.idle_timeout))

    async def _sweep_idle(self, timeout: float) -> None:
        period = max(0.2, min(timeout / 4, 5.0))
        while not self._closed:
            await asyncio.sleep(period)
            now = time.time()
            for session in list(self._sessions.values()):
                last = max(session.last_activity or 0.0, session.since)
                if session.state is SessionState.CONNECTED and now - last >= timeout:
                    log.info("session %s: idle for %.0fs, stopping its browser (login kept)", session.key, now - last)
                    self._spawn(self._stop_if_idle(session, timeout))

    async def _stop_if_idle(self, session: Session, timeout: float) -> None:
        async with self._lock(session.key):
            last = max(session.last_activity or 0.0, session.since)
            if session.state is SessionState.CONNECTED and time.time() - last >= timeout:
                await self._stop_locked(session)

    # -- WhatsApp --------------------------------------------------------------------------------------
    async def send_text(self, key: str, chat_id: str, body: str, *, quoted_id: str | None = None) -> dict[str, Any]:
        """Send a text, as a reply to ``quoted_id`` when given; ``chat_id`` may also be a phone
        number. Returns the message (ack 0)."""
        session = self._connected(key)
        session.touch()
        return await session.call("sendText", chat_id_of(chat_id), str(body), _optional_id(quoted_id))

    async def send_media(self, key: str, chat_id: str, path: Path, *, mimetype: str, kind: str,
                         filename: str | None = None, caption: str | None = None,
                         quoted_id: str | None = None) -> dict[str, Any]:
        """Send the file at ``path`` as ``kind`` (image, video, audio, voice, document, sticker;
        "voice" is a voice note and wants OGG/Opus). The file crosses into the page in chunks of
        256 KiB; WhatsApp Web prepares and uploads it. Returns the message (ack 0). MediaError
        when the file cannot be read, prepared or uploaded (or is past WhatsApp's limit)."""
        if kind not in MEDIA_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MEDIA_KINDS)}, not {kind!r}")
        if not isinstance(mimetype, str) or not mimetype.strip():
            raise ValueError("mimetype is required")
        session = self._connected(key)
        session.touch()
        chat = chat_id_of(chat_id)
        options = {"mimetype": mimetype.strip(), "kind": kind, "filename": filename, "caption": caption,
                   "quotedId": _optional_id(quoted_id)}
        handle = await media.upload(session, Path(path))
        try:
            return await session.call("sendMedia", chat, handle, options, timeout=self.settings.media_timeout)
        except SessionError:
            await media.close_quietly(session, handle)  # freed already, unless the call never got there
            raise

    async def send_location(self, key: str, chat_id: str, *, latitude: float, longitude: float,
                            name: str | None = None, address: str | None = None,
                            quoted_id: str | None = None) -> dict[str, Any]:
        """Send a location (a pin, with an optional name and address). Returns the message."""
        latitude, longitude = float(latitude), float(longitude)
        if not (math.isfinite(latitude) and -90 <= latitude <= 90 and math.isfinite(longitude) and -180 <= longitude <= 180):
            raise ValueError("latitude must be within -90..90 and longitude within -180..180")
        session = self._connected(key)
        session.touch()
        place = {"latitude": latitude, "longitude": longitude, "name": name or None, "address": address or None,
                 "quotedId": _optional_id(quoted_id)}
        return await session.call("sendLocation", chat_id_of(chat_id), place)

    async def react(self, key: str, message_id: str, emoji: str) -> None:
        """React to a message (ours or theirs) with ``emoji``; "" removes our reaction."""
        session = self._connected(key)
        session.touch()
        await session.call("react", _message_id(message_id), str(emoji or ""))

    async def edit(self, key: str, message_id: str, body: str) -> dict[str, Any]:
        """Edit our message: a text's body, or a media message's caption. Returns the edited
        message. ActionRefused when it is not ours or WhatsApp's edit window has passed."""
        session = self._connected(key)
        session.touch()
        return await session.call("edit", _message_id(message_id), str(body))

    async def revoke(self, key: str, message_id: str, *, everyone: bool) -> None:
        """Delete a message for everyone (ours only: ActionRefused otherwise), or, with
        ``everyone=False``, for this account only."""
        session = self._connected(key)
        session.touch()
        await session.call("revoke", _message_id(message_id), bool(everyone))

    async def mark_read(self, key: str, chat_id: str) -> None:
        """Read a chat: the senders see blue ticks (ack 3), its unread count becomes 0 (a
        ``chat`` event follows)."""
        session = self._connected(key)
        session.touch()
        await session.call("markRead", chat_id_of(chat_id))

    async def download_media(self, key: str, message_id: str, dest: Path, *, max_bytes: int) -> dict[str, Any]:
        """Write a message's file to ``dest`` (mode 0600), chunk by chunk as it comes from the page.
        Returns ``{"mimetype", "filename", "size"}``. MediaExpired when WhatsApp no longer has
        the file, MediaError when it cannot be downloaded, MessageNotFound, and MediaTooLarge
        (a SessionError) past ``max_bytes``. On any failure ``dest`` does not exist afterwards."""
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError("max_bytes must be a whole number of bytes")
        session = self._connected(key)
        session.touch()
        return await media.download(session, _message_id(message_id), Path(dest), max_bytes, self.settings.media_timeout)

    async def screenshot(self, key: str) -> bytes:
        """A PNG of the session's page, in any state with a browser (``NotConnected`` without)."""
        session = self._sessions.get(str(key))
        if session is None:
            raise NotConnected(f"session {key} is {SessionState.STOPPED.value}: no page to show")
        return await session.screenshot()

    # -- linking with a code ---------------------------------------------------------------------
    async def request_pairing_code(self, key: str, phone: str) -> dict[str, Any]:
        """A pairing code for linking ``phone`` (its number, country code first) without a QR:
        ``{"code": "ABCD-EFGH", "expiresAt": unix s}``. Only while the session shows a QR
        (``PairingUnavailable`` otherwise); ``ActionRefused`` when WhatsApp gives no code (a
        number not on WhatsApp...). The same phone asked again gets the code showing. WhatsApp Web
        renews the code when its time is up (a ``code`` event each time), five times; then
        ``code_expired``, until this is called again."""
        digits = phone_digits(phone)
        session = self._sessions.get(str(key))
        if session is None or session.state is not SessionState.QR:
            state = session.state.value if session else SessionState.STOPPED.value
            raise PairingUnavailable(f"session {key} is {state}: a pairing code needs a session showing a QR code")
        session.touch()
        return await session.call("requestPairingCode", digits, state=SessionState.QR)

    # -- people and groups (CONNECTED) -------------------------------------------------------------
    async def contacts(self, key: str) -> list[dict[str, Any]]:
        """The people the page knows: ``[{id, lid, phone, name, pushname, isMyContact,
        isBusiness}]``; ``id`` as the chat with them is addressed (``...@c.us`` or ``...@lid``),
        ``lid``/``phone`` the other form when the page knows it (else None)."""
        return await self._call(key, "contacts")

    async def check_number(self, key: str, phone: str) -> dict[str, Any]:
        """Whether a number is on WhatsApp: ``{exists, id, lid}`` (``id`` its ``...@c.us``)."""
        digits = phone_digits(phone)
        return await self._call(key, "checkNumber", digits)

    async def profile_picture(self, key: str, chat_id: str) -> dict[str, Any]:
        """``{url}``: where WhatsApp's CDN serves the picture now (an expiring URL), or None when
        there is none or it is hidden."""
        return await self._call(key, "profilePicture", chat_id_of(chat_id))

    async def groups(self, key: str) -> list[dict[str, Any]]:
        """The groups this account is in: ``[{id, name, participants (a count), isAdmin, lidMode}]``."""
        return await self._call(key, "groups")

    async def group_info(self, key: str, group_id: str) -> dict[str, Any]:
        """``{id, name, description, owner, creation, lidMode, participants: [{id, lid, phone,
        isAdmin, isSuperAdmin}]}``; ``ChatNotFound`` when this account is not in the group."""
        return await self._call(key, "groupInfo", _group_id(group_id))

    async def create_group(self, key: str, name: str, participants: list[str]) -> dict[str, Any]:
        """Create a group: ``{id, name, participants: [{id, status, message}]}`` with WhatsApp's
        code for each person (200 added, 403 only their contacts may add them, 404 not on
        WhatsApp...). ``participants`` are phone numbers or chat ids."""
        name = str(name or "").strip()
        if not name or len(name) > 100:
            raise ValueError("a group's name has 1 to 100 characters")
        return await self._call(key, "createGroup", name, _people(participants))

    async def group_participants(self, key: str, group_id: str, action: str, participants: list[str]) -> list[dict[str, Any]]:
        """Add people to a group (``action`` "add") or remove them ("remove"): ``[{id, status,
        message}]`` with WhatsApp's codes (200 ok, 403 not allowed, 404 not on WhatsApp / not a
        member, 409 already in...). ``ActionRefused`` when this account is not an admin."""
        if action not in ("add", "remove"):
            raise ValueError("action must be add or remove")
        return await self._call(key, "groupParticipants", _group_id(group_id), action, _people(participants))

    def frame_peaks(self, key: str) -> dict[str, int]:
        """Bytes of the largest DevTools frame sent to and received from the session's browser
        since it started: a check that files cross in chunks."""
        session = self._sessions.get(str(key))
        return session.frame_peaks() if session else {"largestSent": 0, "largestReceived": 0}

    async def chats(self, key: str) -> list[dict[str, Any]]:
        session = self._connected(key)
        session.touch()
        return await session.call("chats")

    async def messages(self, key: str, chat_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The last ``limit`` messages of a chat the page holds, oldest first."""
        session = self._connected(key)
        session.touch()
        return await session.call("messages", chat_id_of(chat_id), int(limit))

    # -- helpers -----------------------------------------------------------------------------------------
    async def _call(self, key: str, name: str, *args: Any) -> Any:
        session = self._connected(key)
        session.touch()
        return await session.call(name, *args)

    def _connected(self, key: str) -> Session:
        session = self._sessions.get(str(key))
        if session is None or session.state is not SessionState.CONNECTED:
            state = session.state.value if session else SessionState.STOPPED.value
            raise NotConnected(f"session {key} is {state}, not CONNECTED")
        return session

    def _session(self, key: str) -> Session:
        key = str(key)
        if not KEY_RE.match(key) or key in (".", ".."):
            raise ValueError(f"invalid session key {key!r}: use letters, digits, '_', '.', '@' or '-'")
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = Session(key, self.settings, self)
        return session

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _start_semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrent_starts)
        return self._semaphore

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _message_id(value: Any) -> str:
    """A message id as the page writes it (``true_<chat>_<id>``); anything else is unknown."""
    if not isinstance(value, str) or not value or len(value) > 256:
        raise MessageNotFound(f"not a message id: {str(value)[:80]!r}")
    return value


def _optional_id(value: Any) -> str | None:
    return None if value is None or value == "" else _message_id(value)


def _group_id(value: Any) -> str:
    chat = chat_id_of(str(value))
    if not chat.endswith("@g.us"):
        raise InvalidChatId("Not a group id (like 120363012345678@g.us).")
    return chat


def _people(values: Any) -> list[str]:
    """Phone numbers or person chat ids, as chat ids; at least one, no groups, no duplicates."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
        raise ValueError("participants must be a non-empty list of phone numbers or chat ids")
    if len(values) > 1024:
        raise ValueError("at most 1024 participants at once")
    ids = [chat_id_of(str(v)) for v in values]
    if any(not (i.endswith("@c.us") or i.endswith("@lid")) for i in ids):
        raise InvalidChatId("A participant is a person: a phone number, ...@c.us or ...@lid.")
    return list(dict.fromkeys(ids))

"""The registry of sessions: limits, one lock per key, automatic restarts, idle stops, events."""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import time
from typing import Any, Awaitable, Callable

from .base import LIVE_STATES, ManagerSettings, NotConnected, SessionError, SessionLimitReached, SessionState
from .browser import find_chromium
from .ids import chat_id_of
from .session import Session

log = logging.getLogger(__name__)

Listener = Callable[[str, str, dict], "Awaitable[None] | None"]
KEY_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


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
            return {"state": SessionState.STOPPED.value, "phone": None, "pushname": None, "since": None,
                    "error": None, "qr": None, "lastActivity": None}
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
            session.set_state(SessionState.STOPPED, error=None, qr=None, phone=None, pushname=None)
            return session.status()

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
    async def send_text(self, key: str, chat_id: str, body: str) -> dict[str, Any]:
        """Send a text; ``chat_id`` may also be a phone number. Returns the message (ack 0)."""
        session = self._connected(key)
        session.touch()
        return await session.call("sendText", chat_id_of(chat_id), str(body))

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

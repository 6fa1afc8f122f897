"""One WhatsApp Web session: a browser, its page, the bridge inside it, and the state machine.

The manager calls ``begin_start``/``shutdown``/``logout`` under its per-key lock; everything the
page reports arrives through ``window.__wadEmit`` and is turned into states and events here.
Each browser lifetime is a ``_Run``: callbacks of an old run (a browser being closed) are ignored.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

from pyppeteer.errors import PyppeteerError

from .base import (
    LIVE_STATES, ActionRefused, ChatNotFound, ManagerSettings, MediaError, MediaExpired, MediaTooLarge,
    MessageNotFound, NotConnected, PairingUnavailable, SendRefused, SessionError, SessionState, check_transition,
)
from .browser import BrowserProcess, chromium_args, chromium_major, default_user_agent
from .cdp import expose_function, uncancelled
from .procs import kill_profile_processes

log = logging.getLogger(__name__)

BRIDGE_SOURCE = (Path(__file__).with_name("bridge.js")).read_text(encoding="utf-8")
READY_JS = "() => !!(window.Debug && window.Debug.VERSION) && typeof window.require === 'function'"
FATAL_STATES = {
    "TOS_BLOCK": "the account is blocked by WhatsApp",
    "SMB_TOS_BLOCK": "the business account is blocked by WhatsApp",
}
RETRY_STATES = {
    "PROXYBLOCK": "WhatsApp refuses connections from this network",
    "DEPRECATED_VERSION": "WhatsApp Web says this version is deprecated",
}
# The bridge refuses with "WAD:<code>: <why>" (clients/bridge.js, fail()).
BRIDGE_REFUSAL = re.compile(r"WAD:([a-z_]+): (.*)")
BRIDGE_ERRORS: dict[str, type[SessionError]] = {
    "not_found": MessageNotFound, "refused": ActionRefused, "expired": MediaExpired, "media": MediaError,
    "too_large": MediaTooLarge, "not_connected": NotConnected, "no_chat": ChatNotFound,
    "no_qr": PairingUnavailable, "module": SessionError,
}
# "WAD:send_refused: <reason>[ until <unix s>]: <why>"
SEND_REFUSAL = re.compile(r"([a-z0-9_]+)(?: until ([0-9]+))?: (.*)")
UNLINKED = {"phone": None, "lid": None, "pushname": None, "limits": None}  # what a session showing a QR has not
MAX_TAKEOVERS = 3  # CONFLICTs answered with takeover() within TAKEOVER_WINDOW before giving up
TAKEOVER_WINDOW = 60.0


class SessionHooks(Protocol):
    """What a session needs from its manager."""

    def emit(self, key: str, event: str, data: dict[str, Any]) -> None: ...

    def session_failed(self, session: "Session", retry: bool) -> bool:
        """A run failed; return True when an automatic restart is scheduled."""

    def session_gave_up(self, session: "Session", reason: str) -> None:
        """The session wants to be stopped (not linked within ``link_timeout``)."""


class _Run:
    """One browser lifetime."""

    def __init__(self) -> None:
        self.browser: BrowserProcess | None = None
        self.page: Any = None
        self.ready = asyncio.Event()  # the bridge is injected into the current document
        self.started = asyncio.Event()  # the first injection happened
        self.closing = False
        self.graceful = True  # closing asks the browser to quit first
        self.quiet = False  # logging out: page events no longer change the state
        self.logged_out = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()
        self.launch_task: asyncio.Task | None = None
        self.inject_task: asyncio.Task | None = None
        self.closer: asyncio.Task | None = None
        self.settled = asyncio.Event()  # the page showed a QR or connected: started
        self.wa_state: str | None = None
        self.connected_at: float | None = None
        self.link_watch: asyncio.Task | None = None  # stops the session when not linked within link_timeout
        self.takeovers: collections.deque[float] = collections.deque()
        self.inflight: set[asyncio.Future] = set()

    def cdp(self, awaitable: Any, timeout: float | None = None) -> Any:
        """A pyppeteer call of this run (see ``uncancelled``)."""
        return uncancelled(awaitable, timeout, self.inflight)

    def spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


class Session:
    def __init__(self, key: str, settings: ManagerSettings, hooks: SessionHooks) -> None:
        self.key = key
        self.settings = settings
        self.hooks = hooks
        self.profile = settings.profiles_dir / key
        self.state = SessionState.STOPPED
        self.phone: str | None = None
        self.lid: str | None = None
        self.pushname: str | None = None
        self.limits: dict[str, Any] | None = None
        self.since = time.time()
        self.error: str | None = None
        self.qr: str | None = None
        self.pairing: dict[str, Any] | None = None  # {code, expiresAt} while a pairing code shows
        self.last_activity: float | None = None
        self.restarts = 0
        self._run: _Run | None = None

    # -- status --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "state": self.state.value, "phone": self.phone, "lid": self.lid, "pushname": self.pushname,
            "since": self.since, "error": self.error, "qr": self.qr if self.state is SessionState.QR else None,
            "pairing": self.pairing if self.state is SessionState.QR else None,
            "lastActivity": self.last_activity, "limits": self.limits,
        }

    def set_state(self, state: SessionState, **changes: Any) -> None:
        """Change the state and fields; a 'state' event goes out when anything but the QR changed.
        A move that ``TRANSITIONS`` does not allow raises ``IllegalTransition`` and changes nothing."""
        check_transition(self.key, self.state, state)
        changed = state is not self.state
        for name, value in changes.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = changed or name != "qr"
        if state is not self.state:
            if self.state is SessionState.QR:
                self.pairing = None  # linked, or stopped: the code is spent
            self.state, self.since = state, time.time()
            self._watch_linking()
        if changed:
            log.info("session %s: %s%s", self.key, state.value, f" ({self.error})" if self.error else "")
            self.hooks.emit(self.key, "state", self.status())

    def touch(self) -> None:
        self.last_activity = time.time()

    def browser_pids(self) -> list[int]:
        run = self._run
        return run.browser.pids() if run and run.browser else []

    # -- lifecycle (under the manager's lock) ----------------------------------------------------
    def begin_start(self, executable: str, semaphore: asyncio.Semaphore) -> None:
        """STARTING now; the browser is launched by a task (the caller does not wait for it)."""
        self.set_state(SessionState.STARTING, error=None, qr=None)
        run = self._run = _Run()
        run.launch_task = asyncio.ensure_future(self._launch(run, executable, semaphore))

    async def shutdown(self) -> None:
        """Close the browser of the current run, whatever it is doing. The state is unchanged."""
        run = self._run
        if run is None:
            return
        run.closing = True
        if run.closer is None:
            run.closer = asyncio.ensure_future(self._close_run(run))
        await asyncio.shield(run.closer)
        if self._run is run:
            self._run = None

    def abandon(self) -> None:
        """The next shutdown kills the browser at once, without asking it to quit."""
        if self._run is not None:
            self._run.graceful = False

    async def logout(self) -> None:
        """Log out in the page when it is open, close the browser, delete the profile."""
        run = self._run
        if run and not run.closing and run.ready.is_set() and self.state in (SessionState.CONNECTED, SessionState.DISCONNECTED):
            run.quiet = True
            try:
                await run.cdp(run.page.evaluate("() => window.WADriver.logout()"), 10)
                # The page hears the logout back (Cmd 'logout') once WhatsApp took it.
                await asyncio.wait_for(run.logged_out.wait(), 5)
            except (asyncio.TimeoutError, PyppeteerError) as exc:
                log.warning("session %s: logout in the page did not complete: %s", self.key, exc)
        await self.shutdown()
        await remove_profile(self.profile)

    # -- launching -----------------------------------------------------------------------------
    async def _launch(self, run: _Run, executable: str, semaphore: asyncio.Semaphore) -> None:
        s = self.settings
        try:
            async with semaphore:
                agent = s.user_agent or default_user_agent(await chromium_major(executable))
                args = chromium_args(self.profile, headless=s.headless, user_agent=agent, extra_args=s.extra_args)
                # ready_timeout is about the page; starting Chromium and loading may take longer on a busy host.
                slow = max(s.ready_timeout, 30.0)
                run.browser = await BrowserProcess.launch(executable, self.profile, args, timeout=slow)
                run.spawn(self._watch_process(run))
                browser = run.browser.browser
                browser.on("disconnected", lambda: self._fail(run, "lost the DevTools connection to the browser", graceful=False))
                pages = await run.cdp(browser.pages())
                page = run.page = pages[0] if pages else await run.cdp(browser.newPage())
                page.on("error", lambda *_: self._fail(run, "the page crashed"))
                page.on("close", lambda *_: self._fail(run, "the page was closed"))
                page.on("framenavigated", functools.partial(self._navigated, run))
                await expose_function(page, "__wadEmit", functools.partial(self._on_emit, run), lambda: not run.closing)
                await run.cdp(page.goto(s.url, waitUntil="domcontentloaded", timeout=int(slow * 1000)))
                # _inject gives up after ready_timeout with the precise reason; this is a safety net.
                try:
                    await asyncio.wait_for(run.started.wait(), s.ready_timeout + 10)
                except asyncio.TimeoutError:
                    self._fail(run, f"WhatsApp Web did not load within {s.ready_timeout:.0f}s")
                    return
                run.spawn(self._heartbeat(run))
                # Starting ends with a QR or CONNECTED (or a failure): until then this browser
                # holds its place among the ones launching at once.
                try:
                    await asyncio.wait_for(run.settled.wait(), s.ready_timeout)
                except asyncio.TimeoutError:
                    self._fail(run, f"WhatsApp Web did not connect within {s.ready_timeout:.0f}s (state {run.wa_state or 'unknown'})")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every start failure becomes FAILED with its reason
            log.debug("session %s: start failed", self.key, exc_info=True)
            self._fail(run, f"start failed: {_message(exc)}")

    def _navigated(self, run: _Run, frame: Any) -> None:
        if run is not self._run or run.closing or frame.parentFrame is not None:
            return
        run.ready.clear()
        if run.inject_task and not run.inject_task.done():
            run.inject_task.cancel()
        run.inject_task = run.spawn(self._inject(run))

    async def _inject(self, run: _Run) -> None:
        """Wait for ``window.Debug.VERSION`` (every 200 ms), then inject the bridge and start it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.ready_timeout
        page = run.page
        while True:
            with contextlib.suppress(PyppeteerError, asyncio.TimeoutError):
                if await run.cdp(page.evaluate(READY_JS), 5):
                    break
            if loop.time() > deadline:
                self._fail(run, f"WhatsApp Web did not load within {self.settings.ready_timeout:.0f}s (no Debug.VERSION)")
                return
            await asyncio.sleep(0.2)
        try:
            await run.cdp(page.evaluate(BRIDGE_SOURCE, force_expr=True))
            options = {"messagesPerChat": self.settings.sync_messages_per_chat,
                       "mediaBufferBytes": self.settings.media_buffer_bytes,
                       "pairingCodeTtl": self.settings.pairing_code_ttl}
            info = await run.cdp(page.evaluate("(o) => window.WADriver.init(o)", options))
        except PyppeteerError as exc:
            if "destroyed" in str(exc) or "navigat" in str(exc):
                return  # a newer navigation injects again
            self._fail(run, f"could not start the bridge: {_message(exc)}")
            return
        log.debug("session %s: bridge ready on WhatsApp Web %s", self.key, (info or {}).get("webVersion"))
        run.ready.set()
        run.started.set()

    async def _watch_process(self, run: _Run) -> None:
        assert run.browser is not None
        code = await run.browser.wait()
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        self._fail(run, f"the browser exited unexpectedly ({how})", graceful=False)

    async def _heartbeat(self, run: _Run) -> None:
        s = self.settings
        misses = 0
        while not run.closing:
            await asyncio.sleep(s.heartbeat_interval)
            try:
                await run.cdp(run.page.evaluate("1", force_expr=True), s.heartbeat_timeout)
                misses = 0
            except asyncio.TimeoutError:
                self._fail(run, f"the browser did not answer within {s.heartbeat_timeout:.0f}s", graceful=False)
                return
            except PyppeteerError as exc:  # a navigation may destroy the context under us once
                misses += 1
                if misses >= 2:
                    self._fail(run, f"the browser stopped answering: {_message(exc)}")
                    return

    def _fail(self, run: _Run, error: str, retry: bool = True, graceful: bool = True) -> None:
        """FAILED, and the run's browser closed in the background (killed at once when it is
        dead or hung: asking it to quit would only wait for nothing)."""
        if run is not self._run or run.closing:
            return
        run.closing = True
        run.graceful = graceful
        if run.connected_at is not None and time.time() - run.connected_at >= self.settings.stable_after:
            self.restarts = 0
        restarting = self.hooks.session_failed(self, retry)
        if retry and not restarting:
            error += f" (no automatic restart: {self.restarts} done)" if self.restarts else " (no automatic restart)"
        run.closer = asyncio.ensure_future(self._close_run(run))  # first: closes even if the state change raised
        self.set_state(SessionState.FAILED, error=error, qr=None)

    async def _close_run(self, run: _Run) -> None:
        current = asyncio.current_task()
        tasks = [t for t in [run.launch_task, *run.tasks] if t is not None and t is not current and not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if run.inflight and run.graceful:  # let calls in flight answer before the targets go away
            await asyncio.wait(list(run.inflight), timeout=1.0)
        if run.browser is not None:
            await run.browser.close(self.settings.close_grace if run.graceful else 0.0)
        if await asyncio.to_thread(kill_profile_processes, self.profile):  # a launch cancelled before we knew its pid
            await asyncio.sleep(0.2)

    # -- the page's events -----------------------------------------------------------------------
    def _on_emit(self, run: _Run, kind: str, payload: str) -> None:
        """pyppeteer calls this synchronously: only state changes and scheduling happen here."""
        if run is not self._run or run.closing:
            return
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            log.warning("session %s: unreadable %s event from the bridge", self.key, kind)
            return
        if run.quiet:
            if kind == "logout":
                run.logged_out.set()
            return
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            log.debug("session %s: unknown bridge event %s", self.key, kind)
            return
        try:
            handler(run, data if isinstance(data, dict) else {})
        except Exception:  # noqa: BLE001 - a bad event must not break the session
            log.exception("session %s: handling the bridge's %s event failed", self.key, kind)

    def _on_state(self, run: _Run, data: dict[str, Any]) -> None:
        wa = run.wa_state = str(data.get("state") or "")
        if wa == "CONNECTED":
            run.settled.set()
            run.connected_at = run.connected_at or time.time()
            me = str(data.get("me") or "")
            phone = me.split("@", 1)[0] if me else self.phone
            lid = data.get("lid") if isinstance(data.get("lid"), str) else None
            limits = data.get("limits") if isinstance(data.get("limits"), dict) else None
            self.set_state(SessionState.CONNECTED, phone=phone, lid=lid,
                           pushname=data.get("pushname") or self.pushname, limits=limits, error=None, qr=None)
        elif wa == "UNPAIRED":
            # From STARTING, QR comes with the 'qr' event (which follows): a QR state has a QR.
            run.connected_at = None
            if self.state is not SessionState.STARTING or self.qr:
                self.set_state(SessionState.QR, **UNLINKED)
        elif wa == "UNPAIRED_IDLE":
            run.connected_at = None
            run.settled.set()
            self.set_state(SessionState.QR, qr=None, **UNLINKED)
            # The page waits for a click: renew the QR as long as link_timeout has not passed.
            run.spawn(self._call_quietly(run, "refreshQR"))
        elif wa in FATAL_STATES:
            self._fail(run, f"{wa}: {FATAL_STATES[wa]}", retry=False)
        elif wa in RETRY_STATES:
            self._fail(run, f"{wa}: {RETRY_STATES[wa]}")
        elif wa == "CONFLICT":
            self._takeover(run)
        elif self.state is SessionState.CONNECTED:  # TIMEOUT, OPENING, PAIRING...: reconnecting
            self.set_state(SessionState.DISCONNECTED)

    def _on_qr(self, run: _Run, data: dict[str, Any]) -> None:
        qr = data.get("qr")
        if not isinstance(qr, str) or not qr or qr == self.qr and self.state is SessionState.QR:
            return
        self.set_state(SessionState.QR, qr=qr, **UNLINKED)
        self.hooks.emit(self.key, "qr", {"qr": qr})
        run.settled.set()

    def _on_code(self, run: _Run, data: dict[str, Any]) -> None:
        code, expires = data.get("code"), data.get("expiresAt")
        if isinstance(code, str) and code:
            self.pairing = {"code": code, "expiresAt": expires if isinstance(expires, int) else None}
            self.hooks.emit(self.key, "code", dict(self.pairing))

    def _on_code_expired(self, run: _Run, data: dict[str, Any]) -> None:
        self.pairing = None
        self.hooks.emit(self.key, "code_expired", {})

    def _on_code_error(self, run: _Run, data: dict[str, Any]) -> None:
        message = str(data.get("message") or "WhatsApp Web could not give a pairing code")[:300]
        self.pairing = None
        log.info("session %s: pairing code: %s", self.key, message)
        self.hooks.emit(self.key, "code_error", {"message": message})

    def _on_lid(self, run: _Run, data: dict[str, Any]) -> None:
        pairs = [{"lid": p["lid"], "phone": p["phone"]} for p in data.get("pairs") or []
                 if isinstance(p, dict) and isinstance(p.get("lid"), str) and isinstance(p.get("phone"), str)]
        self.hooks.emit(self.key, "lid", {"pairs": pairs})

    def _on_sync(self, run: _Run, data: dict[str, Any]) -> None:
        self.hooks.emit(self.key, "sync", {"chats": data.get("chats") or [], "messages": data.get("messages") or []})

    def _on_message(self, run: _Run, data: dict[str, Any]) -> None:
        self.touch()
        self.hooks.emit(self.key, "message", data)

    def _on_ack(self, run: _Run, data: dict[str, Any]) -> None:
        self.hooks.emit(self.key, "ack", {"id": data.get("id"), "chatId": data.get("chatId"), "ack": data.get("ack")})

    def _on_chat(self, run: _Run, data: dict[str, Any]) -> None:
        self.hooks.emit(self.key, "chat", data)

    def _on_reaction(self, run: _Run, data: dict[str, Any]) -> None:
        self.hooks.emit(self.key, "reaction", {
            "msgId": data.get("msgId"), "chatId": data.get("chatId"), "sender": data.get("sender"),
            "emoji": data.get("emoji") or "", "timestamp": data.get("timestamp"), "fromMe": bool(data.get("fromMe")),
        })

    def _on_edit(self, run: _Run, data: dict[str, Any]) -> None:
        self.touch()
        self.hooks.emit(self.key, "edit", {
            "id": data.get("id"), "chatId": data.get("chatId"), "body": data.get("body") or "",
            "caption": data.get("caption"), "timestamp": data.get("timestamp"),
        })

    def _on_revoke(self, run: _Run, data: dict[str, Any]) -> None:
        self.hooks.emit(self.key, "revoke", {"id": data.get("id"), "chatId": data.get("chatId")})

    def _on_logout(self, run: _Run, data: dict[str, Any]) -> None:
        # Logged out from the phone (or the page): the page clears its storage and shows a QR again.
        run.connected_at = None
        self.set_state(SessionState.QR, qr=None, **UNLINKED)

    def _on_error(self, run: _Run, data: dict[str, Any]) -> None:
        log.warning("session %s: bridge error in %s: %s", self.key, data.get("where"), data.get("message"))

    def _watch_linking(self) -> None:
        """In QR (a QR or a pairing code showing), the session may wait ``link_timeout`` to be
        linked; then it stops itself. Leaving QR ends the wait."""
        run = self._run
        if run is None:
            return
        if run.link_watch is not None and self.state is not SessionState.QR:
            run.link_watch.cancel()
            run.link_watch = None
        elif run.link_watch is None and self.state is SessionState.QR and self.settings.link_timeout:
            run.link_watch = run.spawn(self._link_deadline(run, self.settings.link_timeout))

    async def _link_deadline(self, run: _Run, timeout: float) -> None:
        await asyncio.sleep(timeout)
        run.link_watch = None
        if run is self._run and not run.closing and self.state is SessionState.QR:
            self.hooks.session_gave_up(self, f"not linked within {timeout:g} s: start again to show a new QR code")

    def _takeover(self, run: _Run) -> None:
        now = time.time()
        while run.takeovers and now - run.takeovers[0] > TAKEOVER_WINDOW:
            run.takeovers.popleft()
        if len(run.takeovers) >= MAX_TAKEOVERS:
            self._fail(run, "CONFLICT: WhatsApp Web keeps being opened in another browser", retry=False)
            return
        run.takeovers.append(now)
        run.spawn(self._call_quietly(run, "takeover"))

    async def _call_quietly(self, run: _Run, name: str) -> None:
        try:
            await run.cdp(run.page.evaluate(f"() => window.WADriver.{name}()"), self.settings.call_timeout)
        except (asyncio.TimeoutError, PyppeteerError) as exc:
            log.warning("session %s: %s failed: %s", self.key, name, _message(exc))

    # -- calls -----------------------------------------------------------------------------------
    async def call(self, name: str, *args: Any, timeout: float | None = None,
                   state: SessionState = SessionState.CONNECTED) -> Any:
        """``WADriver.<name>(*args)`` in the page of a session in ``state`` (CONNECTED: else
        ``NotConnected``). A refusal of the bridge raises its own exception (``MessageNotFound``,
        ``ActionRefused``, ``MediaExpired``...)."""
        run = self._run
        if run is None or run.closing or self.state is not state:
            if state is SessionState.QR:
                raise PairingUnavailable(f"session {self.key} is {self.state.value}: a pairing code needs a session showing a QR code")
            raise NotConnected(f"session {self.key} is {self.state.value}, not CONNECTED")
        timeout = timeout or self.settings.call_timeout
        try:
            await asyncio.wait_for(run.ready.wait(), timeout)
            return await run.cdp(run.page.evaluate(f"(...a) => window.WADriver.{name}(...a)", *args), timeout)
        except asyncio.TimeoutError:
            raise SessionError(f"{name} did not answer within {timeout:.0f}s") from None
        except PyppeteerError as exc:
            if run.closing:
                raise NotConnected(f"session {self.key} is {self.state.value}, not {state.value}") from None
            raise bridge_error(name, exc) from None

    async def screenshot(self) -> bytes:
        """A PNG of the page as the browser shows it now: for diagnosing a session that is stuck
        (a dialog of WhatsApp's, a page that never loaded). ``NotConnected`` without a page."""
        run = self._run
        if run is None or run.closing or run.page is None:
            raise NotConnected(f"session {self.key} is {self.state.value}: no page to show")
        try:
            return await run.cdp(run.page.screenshot({"type": "png"}), self.settings.call_timeout)
        except asyncio.TimeoutError:
            raise SessionError(f"screenshot did not answer within {self.settings.call_timeout:.0f}s") from None
        except PyppeteerError as exc:
            if run.closing:
                raise NotConnected(f"session {self.key} is {self.state.value}: no page to show") from None
            raise SessionError(f"screenshot failed: {_message(exc)}") from None

    def frame_peaks(self) -> dict[str, int]:
        """Bytes of the largest DevTools frame sent to and received from the browser, this run."""
        run = self._run
        connection = run.browser.connection if run and run.browser else None
        if connection is None:
            return {"largestSent": 0, "largestReceived": 0}
        return {"largestSent": connection.largest_sent, "largestReceived": connection.largest_received}


def bridge_error(name: str, exc: BaseException) -> SessionError:
    """The exception for a failed bridge call: the bridge's coded refusal, else SessionError."""
    text = _message(exc)
    refusal = BRIDGE_REFUSAL.search(text)
    if refusal and refusal[1] == "send_refused":
        detail = SEND_REFUSAL.fullmatch(refusal[2])
        if detail:
            return SendRefused(detail[3], reason=detail[1], until=int(detail[2]) if detail[2] else None)
        return SendRefused(refusal[2])
    if refusal:
        return BRIDGE_ERRORS.get(refusal[1], SessionError)(refusal[2])
    return SessionError(f"{name} failed: {text}")


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    for prefix in ("Evaluation failed: ", "Error: "):
        text = text.removeprefix(prefix)
    return text.splitlines()[0][:300]


def _delete_profile(profile: Path) -> None:
    if profile.exists():
        shutil.rmtree(profile)


async def remove_profile(profile: Path, attempts: int = 20) -> None:
    """Delete a profile folder (in a thread: it may hold thousands of files); the browser may
    still be letting go of its files, so retry."""
    for attempt in range(attempts):
        try:
            await asyncio.to_thread(_delete_profile, profile)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if attempt == attempts - 1:
                raise SessionError(f"could not delete the profile {profile}: {exc}") from exc
            await asyncio.sleep(0.25)


__all__ = ["Session", "SessionHooks", "LIVE_STATES", "remove_profile"]

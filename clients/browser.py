"""The system Chromium for one session: finding it, launching it, and ending it without leftovers.

We start Chromium ourselves and attach pyppeteer to it (as ``pyppeteer.connect`` does) instead of calling
``pyppeteer.launch``: pyppeteer's launcher waits for the DevTools endpoint with blocking
``urlopen``/``time.sleep`` calls (freezing the event loop of the whole server for as long as a
browser takes to start) and never reaps the children of a killed browser. Starting it here gives
the same launch options the driver checklist asks for — no ``--enable-automation`` (we never add
pyppeteer's default flags), no signal handlers, no ``atexit`` hook (the server owns shutdown) —
and never lets pyppeteer download a browser.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Iterable

# Must be set before pyppeteer is imported: it reads the variable at import time.
os.environ["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"

from pyppeteer.browser import Browser  # noqa: E402

from .cdp import connect, uncancelled  # noqa: E402
from .procs import (  # noqa: E402
    become_subreaper, has_arg, kill_profile_processes, process_tree, reap_orphans, zombies_of,
)

log = logging.getLogger(__name__)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FALLBACK_MAJOR = 142
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"

# Flags that keep a headless client quiet and alive. Crashpad is off: its handler double-forks
# out of the browser's process group and would outlive every browser. Without crashpad, an
# out-of-process network service crashes at start ("FD ownership violation"), so it runs inside
# the browser process (which also saves one process per session).
BASE_ARGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-crashpad-for-testing",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--disable-blink-features=AutomationControlled",
    # Many pages in the background: their timers and sockets must keep running.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--metrics-recording-only",
    "--no-pings",
    "--mute-audio",
    "--password-store=basic",
    "--use-mock-keychain",
    "--window-size=1280,900",
)
ENABLE_FEATURES = ("NetworkServiceInProcess2",)
DISABLE_FEATURES = ("Translate", "MediaRouter", "OptimizationHints", "DialMediaRouteProvider")


class BrowserNotFound(Exception):
    """No Chromium to launch; the message says how to get one."""


class BrowserLaunchError(Exception):
    """Chromium started but never offered its DevTools endpoint (or exited at once)."""


def find_chromium(configured: str | None = None) -> str:
    """The browser to launch: ``configured`` (a path or a command name), else the first of
    ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH."""
    hint = "Chromium not found: install Debian's `chromium` package or set whatsapp.chromium in config.yaml"
    if configured:
        path = shutil.which(configured) if os.sep not in configured else configured
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise BrowserNotFound(f"{hint} (configured: {configured!r} is not an executable file)")
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserNotFound(hint)


_majors: dict[str, int] = {}


async def chromium_major(executable: str) -> int:
    """The browser's major version (``chromium --version``), cached; a fallback when unreadable."""
    if executable not in _majors:
        major = FALLBACK_MAJOR
        try:
            proc = await asyncio.create_subprocess_exec(
                executable, "--version", stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            out, _ = await asyncio.wait_for(proc.communicate(), 15)
            found = re.search(rb"(\d+)\.\d+\.\d+", out)
            if found:
                major = int(found.group(1))
        except (OSError, asyncio.TimeoutError) as exc:
            log.warning("could not read the version of %s: %s", executable, exc)
        _majors[executable] = major
    return _majors[executable]


def default_user_agent(major: int) -> str:
    """A desktop Chrome user agent of the browser's own version (never ``HeadlessChrome``)."""
    return USER_AGENT.format(major=major)


def chromium_args(profile: Path, *, headless: bool, user_agent: str, extra_args: Iterable[str] = ()) -> list[str]:
    """The command-line flags of one session's browser; ``--enable-features``/``--disable-features``
    of ``extra_args`` are merged with ours (Chromium only honours the last occurrence)."""
    enable, disable = list(ENABLE_FEATURES), list(DISABLE_FEATURES)
    rest: list[str] = []
    for arg in extra_args:
        if arg.startswith("--enable-features="):
            enable += [f for f in arg.split("=", 1)[1].split(",") if f]
        elif arg.startswith("--disable-features="):
            disable += [f for f in arg.split("=", 1)[1].split(",") if f]
        else:
            rest.append(arg)
    args = list(BASE_ARGS)
    if headless:
        args.append("--headless=new")
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    args += [
        f"--user-agent={user_agent}",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "--enable-features=" + ",".join(dict.fromkeys(enable)),
        "--disable-features=" + ",".join(dict.fromkeys(disable)),
    ]
    return args + rest + ["about:blank"]


# -- /proc ---------------------------------------------------------------------------------------
async def clear_stale_lock(profile: Path) -> None:
    """Remove ``Singleton*`` files left by a browser that did not exit cleanly. A browser still
    holding the profile (left over by a previous run of the server) is killed first: a new one
    would only hand its URL to it and exit."""
    try:
        target = os.readlink(profile / "SingletonLock")
    except OSError:
        target = ""
    pid = target.rsplit("-", 1)[-1]
    if pid.isdigit() and int(pid) != os.getpid() and has_arg(int(pid), f"--user-data-dir={profile}"):
        log.warning("killing browser %s left over with profile %s", pid, profile)
        for _ in range(40):
            if not kill_profile_processes(profile):
                break
            await asyncio.sleep(0.05)
    for name in ("SingletonLock", "SingletonSocket", "SingletonCookie"):
        with contextlib.suppress(FileNotFoundError):
            (profile / name).unlink()


def die_with_parent(command: list[str]) -> list[str]:
    """Prefix ``command`` so the browser is killed when its parent dies, even by SIGKILL.

    A browser that outlives a killed server keeps its page online: WhatsApp then delivers
    messages to it that nobody stores, and a later sync brings back only the newest of them.
    ``setpriv --pdeathsig KILL`` (util-linux, on every Debian) sets the death signal and execs,
    so the pid stays the browser's. Without setpriv the command runs as it is.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


class BrowserProcess:
    """One running Chromium (its own process group) and pyppeteer's connection to it."""

    def __init__(self, proc: asyncio.subprocess.Process, profile: Path) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.profile = profile
        self.browser: Browser | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=30)
        self._drain = asyncio.ensure_future(self._read_stderr())
        self._closing: asyncio.Future | None = None

    @classmethod
    async def launch(cls, executable: str, profile: Path, args: list[str], timeout: float = 30.0) -> "BrowserProcess":
        become_subreaper()
        profile.mkdir(parents=True, exist_ok=True)
        await clear_stale_lock(profile)
        port_file = profile / "DevToolsActivePort"
        with contextlib.suppress(FileNotFoundError):
            port_file.unlink()
        proc = await asyncio.create_subprocess_exec(
            *die_with_parent([executable, *args]), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        self = cls(proc, profile)
        try:
            endpoint = await self._endpoint(port_file, timeout)
            self.browser = await uncancelled(connect(endpoint), timeout)
        except BaseException:
            await self.close()
            raise
        return self

    async def _endpoint(self, port_file: Path, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError, ValueError):
                port, path = port_file.read_text().split("\n")[:2]
                if port.strip().isdigit() and path.startswith("/devtools/"):
                    return f"ws://127.0.0.1:{int(port)}{path.strip()}"
            if self.proc.returncode is not None:
                raise BrowserLaunchError(f"Chromium exited at start (code {self.proc.returncode}): {self.stderr_tail()}")
            if time.monotonic() > deadline:
                raise BrowserLaunchError(f"Chromium did not open DevTools within {timeout:.0f}s: {self.stderr_tail()}")
            await asyncio.sleep(0.05)

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        with contextlib.suppress(Exception):
            async for line in self.proc.stderr:
                text = line.decode(errors="replace").rstrip()
                if text and "dbus" not in text:
                    self._stderr.append(text)
                    log.debug("chromium[%s]: %s", self.pid, text)

    def stderr_tail(self, lines: int = 5) -> str:
        return " | ".join(list(self._stderr)[-lines:]) or "no output"

    @property
    def exited(self) -> bool:
        return self.proc.returncode is not None

    async def wait(self) -> int:
        return await self.proc.wait()

    def pids(self) -> list[int]:
        return process_tree(self.pid, self.pid)

    async def close(self, grace: float = 5.0) -> None:
        """Ask Chromium to quit (it flushes the profile's storage), kill its whole process group
        if it takes longer than ``grace`` seconds (at once when ``grace`` is 0), and reap
        everything. Safe to call twice."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(grace))
        await asyncio.shield(self._closing)

    async def _close(self, grace: float) -> None:
        browser, self.browser = self.browser, None
        connection = getattr(browser, "_connection", None)
        if connection is not None and not self.exited and connection._connected and grace > 0:
            with contextlib.suppress(Exception):
                await uncancelled(connection.send("Browser.close"), min(grace, 3.0))
        if grace > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
        self.kill()
        await self.proc.wait()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.dispose()
        # The children notice their parent is gone within moments; kill and reap them all.
        for _ in range(40):
            left = process_tree(self.pid, self.pid)
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            reap_orphans({self.pid})
            if not left and not zombies_of(self.pid):
                break
            await asyncio.sleep(0.05)
        if not self._drain.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._drain, 1.0)

    def kill(self) -> None:
        """SIGKILL the browser's process group at once (no flush)."""
        if process_tree(self.pid, self.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)



"""The system Chromium for one session: finding it, launching it, and ending it without leftovers.

We start Chromium ourselves and attach pyppeteer to it instead of calling ``pyppeteer.launch``:
pyppeteer's launcher waits for the DevTools endpoint with blocking ``urlopen``/``time.sleep``
calls (freezing the event loop of the whole server for as long as a browser takes to start) and
never reaps the children of a killed browser. Starting it here gives the same launch options the
driver checklist asks for — no ``--enable-automation`` (we never add pyppeteer's default flags),
no signal handlers, no ``atexit`` hook (the server owns shutdown) — and never lets pyppeteer
download a browser.

The browser is driven over ``--remote-debugging-pipe`` (two pipes, see ``cdp.PipeConnection``),
never a DevTools port: any local process could connect to a port, run script in the WhatsApp
page and read its device credential. It runs with umask 077 in a profile folder of mode 0700.
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
from pathlib import Path
from typing import Iterable

# Must be set before pyppeteer is imported: it reads the variable at import time.
os.environ["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"

from pyppeteer.browser import Browser  # noqa: E402
from pyppeteer.errors import PyppeteerError  # noqa: E402

from .cdp import PipeConnection, connect, uncancelled  # noqa: E402
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
    # With --disable-gpu the GPU process still loads SwiftShader, which nothing here draws with
    # (the page's canvas and screenshots are software-drawn without it): -10 MB private a session.
    "--disable-software-rasterizer",
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
# WebUIOmniboxPopup and WebUIOmniboxAimPopup: --headless=new keeps a hidden omnibox popup in a
# renderer of its own (the `--top-chrome-webui` process), about 36 MB private a session; both must
# be off. SpareRendererForSitePerProcess: no idle renderer kept ready for a next navigation that
# never comes. Together with --disable-software-rasterizer: 8 -> 6 processes and 115 -> 60 MB USS
# a session (docs/benchmarks.md, "Session browser flags").
DISABLE_FEATURES = ("Translate", "MediaRouter", "OptimizationHints", "DialMediaRouteProvider",
                    "WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "SpareRendererForSitePerProcess")


class BrowserNotFound(Exception):
    """No Chromium to launch; the message says how to get one."""


class BrowserLaunchError(Exception):
    """Chromium started but never answered on its DevTools pipe (or exited at once)."""


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
        "--remote-debugging-pipe",
        "--enable-features=" + ",".join(dict.fromkeys(enable)),
        "--disable-features=" + ",".join(dict.fromkeys(disable)),
    ]
    return args + rest + ["about:blank"]


# -- the profile and /proc (blocking: called through asyncio.to_thread) ---------------------------
def prepare_profile(profile: Path) -> None:
    """Create the profile folder, readable by its owner only (also one made before, or under a
    looser umask)."""
    profile.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(profile, 0o700)


def stale_lock_owner(profile: Path) -> int | None:
    """The pid of a browser still holding ``profile`` (its ``SingletonLock`` names it), if any."""
    try:
        target = os.readlink(profile / "SingletonLock")
    except OSError:
        return None
    pid = target.rsplit("-", 1)[-1]
    if pid.isdigit() and int(pid) != os.getpid() and has_arg(int(pid), f"--user-data-dir={profile}"):
        return int(pid)
    return None


def remove_stale_files(profile: Path) -> None:
    """The lock files of a browser that is gone, and the DevToolsActivePort file that versions
    driving Chromium over a port left behind (nothing may suggest a port is open)."""
    for name in ("SingletonLock", "SingletonSocket", "SingletonCookie", "DevToolsActivePort"):
        with contextlib.suppress(FileNotFoundError):
            (profile / name).unlink()


async def clear_stale_lock(profile: Path) -> None:
    """Remove ``Singleton*`` files left by a browser that did not exit cleanly (and an old
    ``DevToolsActivePort``). A browser still holding the profile (left over by a previous run of
    the server) is killed first: a new one would only hand its URL to it and exit."""
    pid = await asyncio.to_thread(stale_lock_owner, profile)
    if pid is not None:
        log.warning("killing browser %s left over with profile %s", pid, profile)
        for _ in range(40):
            if not await asyncio.to_thread(kill_profile_processes, profile):
                break
            await asyncio.sleep(0.05)
    await asyncio.to_thread(remove_stale_files, profile)


# Run by /bin/sh between setpriv and the browser: Chromium's DevTools pipe is its fds 3 (commands
# in) and 4 (answers and events out), which subprocess cannot map without preexec_fn (unsafe in
# a process with threads). So the pipes come in as stdin and stdout and are moved there, stdin
# and stdout become /dev/null, and everything Chromium writes is private to its user.
PIPE_WRAPPER = 'umask 077; exec 3<&0 4>&1 0</dev/null 1>/dev/null; exec "$@"'


def with_devtools_pipes(command: list[str]) -> list[str]:
    """``command`` run with its stdin as fd 3, its stdout as fd 4, and umask 077. ``exec`` all the
    way: the pid stays the browser's."""
    return ["/bin/sh", "-c", PIPE_WRAPPER, "sh", *command]


def die_with_parent(command: list[str]) -> list[str]:
    """Prefix ``command`` so the browser is killed when its parent dies, even by SIGKILL.

    A browser that outlives a killed server keeps its page online: WhatsApp then delivers
    messages to it that nobody stores, and a later sync brings back only the newest of them.
    ``setpriv --pdeathsig KILL`` (util-linux, on every Debian) sets the death signal and execs,
    so the pid stays the browser's; the signal survives the execs that follow (``sh``, Debian's
    ``chromium`` script, the browser: none is set-user-ID). It is sent when the thread that
    spawned the browser ends, so launch from the event loop's thread, never a worker thread.
    Without setpriv the command runs as it is.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--", *command] if setpriv else command


class BrowserProcess:
    """One running Chromium (its own process group) and pyppeteer's connection to it."""

    def __init__(self, proc: asyncio.subprocess.Process, profile: Path) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.profile = profile
        self.connection: PipeConnection | None = None
        self.browser: Browser | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=30)
        self._drain = asyncio.ensure_future(self._read_stderr())
        self._closing: asyncio.Future | None = None

    @classmethod
    async def launch(cls, executable: str, profile: Path, args: list[str], timeout: float = 30.0) -> "BrowserProcess":
        """Start the browser and connect to it over its DevTools pipe; ``BrowserLaunchError`` when
        it exits first or does not answer within ``timeout`` seconds."""
        become_subreaper()
        await asyncio.to_thread(prepare_profile, profile)
        await clear_stale_lock(profile)
        commands_in, commands_out = os.pipe2(os.O_CLOEXEC)  # we write, the browser reads (its fd 3)
        events_in, events_out = os.pipe2(os.O_CLOEXEC)  # the browser writes (its fd 4), we read
        try:
            proc = await asyncio.create_subprocess_exec(
                *die_with_parent(with_devtools_pipes([executable, *args])), stdin=commands_in,
                stdout=events_out, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except BaseException:
            os.close(commands_out)
            os.close(events_in)
            raise
        finally:  # the browser's ends: only it may hold them, or its exit would never end the pipe
            os.close(commands_in)
            os.close(events_out)
        self = cls(proc, profile)
        try:
            self.connection = await PipeConnection.open(events_in, commands_out)
            self.browser = await self._connect(self.connection, timeout)
        except BaseException:
            await self.close()
            raise
        return self

    async def _connect(self, connection: PipeConnection, timeout: float) -> Browser:
        try:
            return await uncancelled(connect(connection), timeout)
        except asyncio.TimeoutError:
            raise BrowserLaunchError(
                f"Chromium did not answer on its DevTools pipe within {timeout:.0f}s: {self.stderr_tail()}") from None
        except (PyppeteerError, ConnectionError):  # the pipe ended: the browser is exiting
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 5)
                await asyncio.wait_for(asyncio.shield(self._drain), 1)  # its last words
            if self.exited:
                raise BrowserLaunchError(
                    f"Chromium exited at start (code {self.proc.returncode}): {self.stderr_tail()}") from None
            raise BrowserLaunchError(f"Chromium closed its DevTools pipe at start: {self.stderr_tail()}") from None

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
        """The browser's live processes (a /proc scan: from async code, call it in a thread)."""
        return process_tree(self.pid, self.pid)

    async def close(self, grace: float = 5.0) -> None:
        """Ask Chromium to quit (it flushes the profile's storage), kill its whole process group
        if it takes longer than ``grace`` seconds (at once when ``grace`` is 0), and reap
        everything. Safe to call twice."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(grace))
        await asyncio.shield(self._closing)

    async def _close(self, grace: float) -> None:
        connection, self.browser = self.connection, None
        if connection is not None and not self.exited and connection._connected and grace > 0:
            with contextlib.suppress(Exception):
                await uncancelled(connection.send("Browser.close"), min(grace, 3.0))
        if grace > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
        await asyncio.to_thread(self.kill)
        await self.proc.wait()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.dispose()
        # The children notice their parent is gone within moments; kill and reap them all.
        for _ in range(40):
            if await asyncio.to_thread(self._sweep):
                break
            await asyncio.sleep(0.05)
        if not self._drain.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._drain, 1.0)

    def _sweep(self) -> bool:
        """SIGKILL what is left of the browser's processes and reap our zombies of its group;
        True when nothing was left. Blocking (/proc)."""
        left = process_tree(self.pid, self.pid)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        reap_orphans({self.pid})
        return not left and not zombies_of(self.pid)

    def kill(self) -> None:
        """SIGKILL the browser's process group at once (no flush). Blocking (/proc)."""
        if process_tree(self.pid, self.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

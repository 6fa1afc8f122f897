"""Helpers of the fault and load tests: a server in its own process, browsers found by profile.

``ServerProcess`` runs ``python -m server.cli --config FILE serve --port 0`` with its log going to a
file (a pipe nobody reads would stall a server that logs every request), so it can be killed with
SIGKILL, started again on the same data folder and database, and have its memory read.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.server import DEFAULT_CONFIG, ROOT, deep_merge


def write_config(path: Path, **sections: Any) -> Path:
    """The default config.yaml with ``sections`` merged over it, written to ``path``."""
    base = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8")) or {}
    # Tests register many users and try many passwords from one address.
    base = deep_merge(base, {"auth": {"register_max_per_address": 100_000, "login_max_failures_per_address": 100_000,
                                      "login_max_failures_global": 100_000}})
    path.write_text(yaml.safe_dump(deep_merge(base, sections)), encoding="utf-8")
    return path


class ServerProcess:
    """One wamulti server process; ``client`` is an httpx client pointed at it."""

    def __init__(self, config: Path, cwd: Path, log: Path) -> None:
        self.config, self.cwd, self.log = config, cwd, log
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.client: httpx.AsyncClient | None = None

    async def start(self, timeout: float = 60) -> "ServerProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
        env["PYTHONPATH"] = str(ROOT)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "--config", str(self.config), "serve", "--port", "0"],
                cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        deadline = time.monotonic() + timeout
        while self.port is None:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
            if found:
                self.port = int(found.group(1))
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited before listening:\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not listen within {timeout}s:\n{text[-3000:]}")
            await asyncio.sleep(0.05)
        self.client = httpx.AsyncClient(base_url=self.url, timeout=30)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed, the browsers are orphaned."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        await self._forget()

    async def stop(self, timeout: float = 30) -> None:
        """SIGTERM and wait (a normal shutdown); SIGKILL when it takes longer than ``timeout``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        await self._forget()

    async def _forget(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        self.port = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


# -- browsers, found by their profile folder -------------------------------------------------------
def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _has_arg(cmdline: bytes, arg: str) -> bool:
    # Chromium's children rewrite their title: arguments may be separated by spaces, not NULs.
    return re.search(rb"(?:^|[\0 ])" + re.escape(arg.encode()) + rb"(?:$|[\0 ])", cmdline) is not None


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        return data[data.rindex(b")") + 2:].split()[0].decode()
    except (OSError, ValueError, IndexError):
        return "X"


def profile_processes(profile: Path) -> list[int]:
    """Live processes started with ``--user-data-dir=<profile>`` (zombies left out)."""
    marker = f"--user-data-dir={profile}"
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            cmd = _cmdline(int(entry))
            if cmd and _has_arg(cmd, marker) and _state(int(entry)) not in ("Z", "X"):
                found.append(int(entry))
    return sorted(found)


def browser_mains(profile: Path) -> list[int]:
    """The browser processes themselves (not their renderers, GPU or utility children)."""
    return [pid for pid in profile_processes(profile) if not re.search(rb"--type=", _cmdline(pid))]


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        return int(data[data.rindex(b")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def descends_from(pid: int, root: int) -> bool:
    seen = 0
    while pid and pid != 1 and seen < 64:
        if pid == root:
            return True
        pid = parent_of(pid) or 0
        seen += 1
    return pid == root


def kill_profile(profile: Path) -> list[int]:
    """SIGKILL whatever still runs on ``profile`` (cleanup after a killed server)."""
    pids = profile_processes(profile)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


async def wait_until(predicate: Any, timeout: float, message: str, interval: float = 0.1) -> Any:
    """Poll a synchronous or async predicate until it is truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)

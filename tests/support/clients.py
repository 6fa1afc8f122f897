"""What the clients/ tests share: a manager factory pointed at the simulator, an event
recorder, the ids a session's page gives people in each generation of the simulator, and /proc
views of the browsers (no psutil). Holds no tests itself."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest_asyncio

from clients import ManagerSettings, SessionManager
from tests.fakewa.addressing import lid_wid

ALICE, BOB, CAROL = "79990000001", "79990000002", "79990000003"
EVENT_TIMEOUT = 20.0


def is_ciphertext(message: dict) -> bool:
    return message.get("type") == "ciphertext"


@dataclass
class Recorder:
    """A listener keeping every event; ``await rec.wait(...)`` blocks until a matching one."""

    events: list[tuple[str, str, dict]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, key: str, event: str, data: dict) -> None:
        self.events.append((key, event, data))
        self.changed.set()

    def mark(self) -> int:
        return len(self.events)

    def of(self, key: str, event: str | None = None, since: int = 0) -> list[dict]:
        return [d for k, e, d in self.events[since:] if k == key and (event is None or e == event)]

    def states(self, key: str, since: int = 0) -> list[str]:
        return [d["state"] for d in self.of(key, "state", since)]

    async def wait(self, key: str, event: str, check: Callable[[dict], Any] = lambda d: True,
                   since: int = 0, timeout: float = EVENT_TIMEOUT) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        while True:
            while index < len(self.events):
                k, e, d = self.events[index]
                index += 1
                if k == key and e == event and check(d):
                    return d
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(e, d.get("state", "")) for k, e, d in self.events[since:] if k == key]
                raise AssertionError(f"no {event} event for session {key} within {timeout}s; saw {seen}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def state(self, key: str, state: str, since: int = 0, timeout: float = EVENT_TIMEOUT) -> dict:
        return await self.wait(key, "state", lambda d: d["state"] == state, since, timeout)

    async def message(self, key: str, check: Callable[[dict], Any] = lambda m: True, since: int = 0,
                      timeout: float = EVENT_TIMEOUT) -> dict:
        """The first ``message`` event that passes ``check`` with what the message says: a
        ciphertext placeholder (2026-08) is passed over, its decrypted self follows with its id."""
        return await self.wait(key, "message", lambda m: not is_ciphertext(m) and check(m), since, timeout)


@dataclass
class Harness:
    manager: SessionManager
    events: Recorder
    profiles: Path
    control: Any

    @property
    def generation(self) -> str:
        return self.control.settings.generation

    @property
    def lids(self) -> bool:
        """Whether the simulator's page knows LIDs (the 2026-08 generation)."""
        return self.control.settings.lids

    def wid(self, other: str, viewer: str = ALICE, contact: bool = False) -> str:
        """How ``viewer``'s page names ``other`` in their 1:1 chat: by LID on a 2026-08 page when
        ``other`` is not in ``viewer``'s address book (the simulator's default), else by number."""
        return lid_wid(other) if self.lids and not contact else f"{other}@c.us"

    def me(self, viewer: str = ALICE, other: str = BOB, contact: bool = False) -> str:
        """How ``viewer`` writes itself in its chat with ``other`` (its LID in a chat by LID)."""
        return lid_wid(viewer) if self.lids and not contact else f"{viewer}@c.us"

    async def link(self, key: str, phone: str, pushname: str | None = None) -> dict:
        """Start a fresh session, scan its QR with ``phone`` and wait for CONNECTED and the sync."""
        mark = self.events.mark()
        await self.manager.start(key)
        for _ in range(3):  # a ref may rotate between reading and scanning on a slow machine
            qr = (await self.events.wait(key, "qr", since=mark))["qr"]
            response = await self.control.request("POST", "__sim/scan", {"qr": qr, "phone": phone, "pushname": pushname})
            if response.status_code == 200:
                break
            mark = self.events.mark()
        assert response.status_code == 200, response.text
        status = await self.events.state(key, "CONNECTED", since=mark)
        await self.events.wait(key, "sync", since=mark)
        return status

    async def link_by_code(self, key: str, phone: str, pushname: str | None = None) -> dict:
        """Start a fresh session, ask a pairing code for ``phone`` and type it in on the phone."""
        mark = self.events.mark()
        await self.control.phone_join(phone, pushname)
        await self.manager.start(key)
        await self.events.wait(key, "qr", since=mark)
        code = (await self.manager.request_pairing_code(key, phone))["code"]
        await self.control.pair(phone, code, pushname)
        status = await self.events.state(key, "CONNECTED", since=mark)
        await self.events.wait(key, "sync", since=mark)
        return status

    def profile(self, key: str) -> Path:
        return self.profiles / key


def fast_settings(profiles: Path, url: str, **overrides: Any) -> ManagerSettings:
    values: dict[str, Any] = dict(
        profiles_dir=profiles, url=url, ready_timeout=20.0, heartbeat_interval=1.0, heartbeat_timeout=3.0,
        restart_backoff=(0.2, 1.0), max_restarts=3, close_grace=3.0,
    )
    values.update(overrides)
    return ManagerSettings(**values)


@pytest_asyncio.fixture
async def make_harness(tmp_path: Path, fakewa: Any) -> AsyncIterator[Callable[..., Harness]]:
    """A factory: ``make_harness(**settings)`` → a SessionManager on the simulator, recorded.
    ALICE, BOB and CAROL are on WhatsApp from the start (so a 2026-08 page can look them up)."""
    made: list[Harness] = []
    for phone in (ALICE, BOB, CAROL):
        await fakewa.phone_join(phone)

    def factory(**overrides: Any) -> Harness:
        profiles = tmp_path / f"profiles{len(made)}"
        url = overrides.pop("url", fakewa.url)
        overrides.setdefault("pairing_code_ttl", fakewa.settings.pair_code_ttl)
        manager = SessionManager(fast_settings(profiles, url, **overrides))
        recorder = Recorder()
        manager.add_listener(recorder)
        harness = Harness(manager, recorder, profiles, fakewa)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.manager.close()
    for harness in made:
        assert not browsers_of(harness.profiles), "a browser outlived SessionManager.close()"


@pytest_asyncio.fixture
async def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()


# -- /proc ------------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[str, int, int] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2])


def _args(pid: int) -> list[bytes]:
    """A process's arguments; Chromium's children rewrite their title with spaces for NULs."""
    try:
        return re.split(rb"[\0 ]", Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return []


def browsers_of(profiles: Path) -> list[int]:
    """Live processes started with a profile folder inside ``profiles`` (browsers and children)."""
    prefix = f"--user-data-dir={profiles}/".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and any(a.startswith(prefix) for a in _args(int(name))):
            st = _stat(int(name))
            if st and st[0] not in ("Z", "X"):
                found.append(int(name))
    return found


def main_browsers(profile: Path) -> list[int]:
    """Browser main processes (no ``--type=``) of exactly this profile."""
    marker = f"--user-data-dir={profile}".encode()
    return [pid for pid in browsers_of(profile.parent)
            if marker in (args := _args(pid)) and not any(a.startswith(b"--type=") for a in args)]


def zombies_of(pgids: set[int]) -> list[int]:
    """Unreaped children of this process that belonged to one of these browsers."""
    me = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) and st[0] == "Z" and st[1] == me and st[2] in pgids:
            out.append(int(name))
    return out


async def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        await asyncio.sleep(0.05)


def process_args(pid: int) -> list[str]:
    """A process's arguments as text (see ``_args``)."""
    return [a.decode(errors="replace") for a in _args(pid) if a]


def listening_tcp_sockets(pids: list[int]) -> list[tuple[int, str]]:
    """(pid, local address) of every TCP socket in LISTEN state (0A) that one of ``pids`` holds:
    the socket inodes of each process's open files, looked up in its network namespace's
    ``/proc/<pid>/net/tcp`` and ``tcp6``."""
    found = []
    for pid in pids:
        inodes = set()
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:["):-1])
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                    fields = line.split()
                    if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                        found.append((pid, fields[1]))
    return found


def loose_permissions(folder: Path) -> list[tuple[str, str]]:
    """(path, mode) of ``folder`` and everything in it that gives group or others any access.
    Symbolic links are left out: Linux ignores their mode bits (always 0777)."""
    loose = []
    for path in [folder, *folder.rglob("*")]:
        with contextlib.suppress(FileNotFoundError):  # Chromium may delete a file meanwhile
            st = path.lstat()
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                loose.append((str(path.relative_to(folder.parent)), oct(st.st_mode & 0o777)))
    return loose


async def phone_message(control: Any, phone: str, check: Callable[[dict], Any], what: str = "the message",
                        timeout: float = EVENT_TIMEOUT) -> dict:
    """The first message ``phone`` lists that passes ``check``, once it is there."""
    async def find() -> dict | None:
        return next((m for m in await control.messages(phone) if check(m)), None)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await find()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"phone {phone} shows no {what} within {timeout}s: {await control.messages(phone)}")
        await asyncio.sleep(0.05)

"""Processes as /proc shows them (Linux; no psutil): a browser's tree, reaping, cleanup.

Every function here blocks (it reads all of /proc, or waits): async code calls them through
``asyncio.to_thread``, so a host with many processes never stalls the event loop.
"""
from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import re
import signal
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2])


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process_tree(root: int, pgid: int | None = None) -> list[int]:
    """Live (non-zombie) processes descending from ``root``, plus members of process group
    ``pgid`` (which still finds a browser's children after the browser itself died)."""
    stats = {pid: st for pid in _all_pids() if (st := _stat(pid)) is not None}
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, (_, ppid, _) in stats.items():
        children[ppid].append(pid)
    found: set[int] = set()
    todo = [root] if root in stats else []
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    if pgid is not None:
        found.update(pid for pid, (_, _, group) in stats.items() if group == pgid)
    return sorted(pid for pid in found if stats.get(pid, ("Z",))[0] not in ("Z", "X"))


_subreaper = False


def become_subreaper() -> None:
    """Orphaned browser children (a killed browser's renderers) are re-parented to this process
    instead of init, so we can reap them: some container inits never do, and zombies pile up."""
    global _subreaper
    if _subreaper:
        return
    _subreaper = True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            log.debug("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %s", ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        log.debug("cannot become a subreaper: %s", exc)


def reap_orphans(pgids: set[int]) -> int:
    """Reap our zombie children that belong to one of the browsers' process groups (never a
    browser main process: asyncio waits for those)."""
    me, reaped = os.getpid(), 0
    for pid in _all_pids():
        st = _stat(pid)
        if st and st[0] == "Z" and st[1] == me and st[2] in pgids and pid not in pgids:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
                reaped += 1
    return reaped


def zombies_of(pgid: int) -> list[int]:
    """Zombies of the group that are ours to reap (not the main process: asyncio reaps it)."""
    me = os.getpid()
    return [pid for pid in _all_pids() if (st := _stat(pid)) and st[0] == "Z" and st[2] == pgid
            and st[1] == me and pid != pgid]


def has_arg(pid: int, arg: str) -> bool:
    """Whether the process was started with ``arg``. Chromium's children rewrite their title,
    so their arguments may be separated by spaces instead of NULs."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return re.search(rb"(?:^|[\0 ])" + re.escape(arg.encode()) + rb"(?:$|[\0 ])", cmdline) is not None


def kill_profile_processes(profile: Path) -> list[int]:
    """SIGKILL every process started with this profile folder (a safety net after a launch that
    was cancelled half-way, or a browser left over by a previous run of the server)."""
    marker = f"--user-data-dir={profile}"
    killed = []
    for pid in _all_pids():
        if pid != os.getpid() and has_arg(pid, marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return killed

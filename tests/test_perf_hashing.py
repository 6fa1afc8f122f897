"""bcrypt in worker processes of lower priority (plugins/auth/hashing.py): started with the first
password, niced, gone when the server stops, and an unknown name still costs a whole check."""
from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

from plugins.auth.hashing import NICENESS
from tests.support.server import TEST_PASSWORD

TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].decode().split()


def hash_workers() -> set[int]:
    """This process's children that are multiprocessing workers (the server runs in this process)."""
    me = str(os.getpid())
    found = set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        fields = stat_fields(int(name))
        if fields is None or fields[1] != me or fields[0] == "Z":
            continue
        cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        if b"multiprocessing.spawn" in cmdline or b"spawn_main" in cmdline:
            found.add(int(name))
    return found


def cpu_seconds(pids: set[int]) -> float:
    """CPU time of this process and of ``pids`` (user + system)."""
    total = time.process_time()
    for pid in pids:
        fields = stat_fields(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


async def login(server, username: str, password: str):
    return await server.client.post("/api/auth/login", json={"username": username, "password": password})


async def test_hashing_runs_in_niced_processes_started_on_demand_and_gone_after_stop(make_server):
    before = hash_workers()
    server = await make_server()
    service = server.app.state["auth"]
    assert not service.hashing.started and hash_workers() == before  # nothing started with the server

    await server.register("hashed")  # the first password to hash starts the workers
    assert service.hashing.started
    workers = hash_workers() - before
    assert 1 <= len(workers) <= server.app.config["auth"]["hash_workers"]
    for pid in workers:
        assert int(stat_fields(pid)[16]) == os.nice(0) + NICENESS, "a hashing process runs at the loop's priority"
    assert (await login(server, "hashed", TEST_PASSWORD)).status_code == 200
    assert (await login(server, "hashed", "not the password")).status_code == 401

    await server.app.stop()
    assert not [pid for pid in workers if stat_fields(pid) is not None], "hashing processes outlived the server"


async def test_an_unknown_name_costs_a_whole_check_in_the_hashing_processes(make_server):
    """Not a timed test: the work is compared in CPU seconds of this process (the server runs in
    it) and of its hashing processes, which other load on the machine does not change."""
    before = hash_workers()
    server = await make_server(auth={"bcrypt_rounds": 10, "login_max_failures": 100, "hash_workers": 1})
    await server.register("known")
    workers = hash_workers() - before
    assert workers

    async def cpu_of(username: str) -> float:
        started = cpu_seconds(workers)
        assert (await login(server, username, "not the password")).status_code == 401
        return cpu_seconds(workers) - started

    known = statistics.median([await cpu_of("known") for _ in range(5)])
    unknown = statistics.median([await cpu_of(f"unknown{uuid.uuid4().hex[:6]}") for _ in range(5)])
    assert unknown > 0.5 * known, (unknown, known)
    assert known > 0.01, known  # a check at cost 10 is tens of milliseconds: it was measured

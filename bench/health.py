"""Figure 2: event loop health — `GET /api/health` latency alone and while logins run at once."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import HOST, PASSWORD, Context, children, register, start_wamulti
from bench.load import CpuMeter, HttpConnection, HttpError, build_request, paced_latencies, percentile, summary_ms

HOW = (
    "One `wamulti serve` process (SQLite, bcrypt {bcrypt_rounds} rounds, auth.hash_workers 2 as by default) pinned "
    "to the server core, with its password hashing processes (plugins/auth/hashing.py: niced, started by the "
    "first password) inheriting that core. From the other core, one keep-alive connection sends `GET /api/health` "
    "every {interval_ms:g} ms ({seconds:g} s, at most {count} requests) and times each answer: first alone, then "
    "while {logins} other connections each log in again as soon as their previous login answered, so {logins} "
    "logins (bcrypt checks) are always in flight. If bcrypt ran on the event loop, p99 would be a whole bcrypt check "
    "(hundreds of ms); since the hashing processes run at a lower priority on the same core, the loop should "
    "barely notice them. Logins/s counts the logins answered inside the loaded window; the hashing processes' CPU "
    "is reported apart from the server's."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"logins": 4, "seconds": 1.5, "interval_ms": 10.0, "bcrypt_rounds": 10}
    return {"logins": 20, "seconds": 15.0, "interval_ms": 10.0, "bcrypt_rounds": 12}


async def _login_loop(port: int, username: str, stop: asyncio.Event, deadline: float, out: dict[str, Any]) -> None:
    """Log in again and again; record when each answer came and how long it took."""
    conn = await HttpConnection.open(HOST, port)
    raw = build_request("POST", "/api/auth/login", f"{HOST}:{port}", body={"username": username, "password": PASSWORD})
    try:
        while not stop.is_set() and time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                response = await conn.send(raw, timeout=120)
            except (HttpError, asyncio.TimeoutError, OSError) as exc:
                out["errors"] += 1
                out["first_error"] = out["first_error"] or str(exc)
                return
            if response.status != 200:
                out["errors"] += 1
                out["first_error"] = out["first_error"] or f"HTTP {response.status}: {response.body[:200]!r}"
            else:
                done = time.perf_counter()
                out["answers"].append((done, done - sent))
    finally:
        conn.close()


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    count = int(size["seconds"] * 1000 / size["interval_ms"])
    interval = size["interval_ms"] / 1000
    server = start_wamulti(ctx.procs, "health", f"sqlite:///{ctx.workdir / 'health.db'}", cores=ctx.cores.server,
                           overrides={"auth": {"bcrypt_rounds": size["bcrypt_rounds"]}},
                           profile_to=ctx.profile_path("health", "sqlite"))
    try:
        conn = await server.connect()
        users = [f"login{i:02d}" for i in range(size["logins"])]
        for name in users:
            await register(conn, name)
        health = build_request("GET", "/api/health", f"{HOST}:{server.port}")
        await paced_latencies(conn, health, count=50, interval=0.002, max_seconds=5)  # warm-up
        meter = CpuMeter({"server": [server.pid]})
        alone, alone_errors = await paced_latencies(conn, health, count=count, interval=interval,
                                                     max_seconds=size["seconds"] * 2)
        alone_cpu = meter.read()

        stop = asyncio.Event()
        logins: dict[str, Any] = {"errors": 0, "first_error": None, "answers": []}
        hard_deadline = time.perf_counter() + size["seconds"] * 3 + 60
        workers = [asyncio.ensure_future(_login_loop(server.port, name, stop, hard_deadline, logins)) for name in users]
        await asyncio.sleep(0.5)  # every worker has a login in flight
        opened = time.perf_counter()
        meter = CpuMeter({"server": [server.pid], "hashing": children(server.pid)})
        loaded, loaded_errors = await paced_latencies(conn, health, count=count, interval=interval,
                                                       max_seconds=size["seconds"] * 2)
        closed = time.perf_counter()
        loaded_cpu = meter.read()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), timeout=180)
        conn.close()
    finally:
        ctx.procs.stop(server.proc)
    if alone_errors or loaded_errors or logins["errors"]:
        raise RuntimeError(f"errors: health alone {alone_errors}, health loaded {loaded_errors}, "
                           f"logins {logins['errors']} ({logins['first_error']})")
    in_window = [took for done, took in logins["answers"] if opened <= done <= closed]
    window = closed - opened
    login_summary = summary_ms(in_window)
    return {
        "how": HOW.format(count=count, **size),
        "logins": size["logins"],
        "alone": {**summary_ms(alone), "cpu": alone_cpu},
        "under_logins": {**summary_ms(loaded), "cpu": loaded_cpu},
        "p99_ratio": round(percentile(loaded, 99) / percentile(alone, 99), 2) if alone and loaded else None,
        "login_load": {
            "completed": len(in_window),
            "answered_in_all": len(logins["answers"]),
            "per_second": round(len(in_window) / window, 2),
            "p50_ms": login_summary["p50_ms"],
            "errors": logins["errors"],
        },
    }

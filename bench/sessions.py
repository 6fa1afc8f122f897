"""Figure 4: WhatsApp sessions — memory per session (PSS of its browser processes) at 1, 10 and
50 simulated sessions, and seconds from `POST /api/whatsapp/start` to a QR being available."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from tornado.websocket import WebSocketClientConnection, websocket_connect

from bench.common import (
    HOST, Context, bearer, browser_processes, chromium_processes, describe_error, memory_kb, pss_kb, register, start_simulator, start_wamulti,
)
from bench.load import HttpConnection, percentile

HOW = (
    "One `wamulti serve` process (SQLite, whatsapp plugin with its defaults: max_concurrent_starts 2, headless "
    "Chromium from the system) pinned to the server core; every Chromium it starts inherits that core. The "
    "simulator (tests/fakewa with its realistic default delays) and the clients run on the other core. Sessions "
    "are added step by step up to {steps}, one user each: each user opens its `/ws` socket, then `POST "
    "/api/whatsapp/start/:id`; start→QR is the time from just before that request to the socket's first "
    "`session.qr` frame. Each step is bounded ({bounds}); sessions without a QR by then are reported as such. "
    "{settle:g} s after the last QR of a step, the PSS (`/proc/<pid>/smaps_rollup`) of every process of each "
    "session's browser is summed: the processes whose command line holds `--user-data-dir=<data>/sessions/<user "
    "id>`, their process groups and descendants. Memory per session is the mean of those sums; PSS splits pages "
    "shared between browsers among them, so it falls as sessions are added, and also when other Chromium "
    "processes run on the machine (their count is reported). USS (private pages only) is reported beside it: it "
    "does not depend on other processes."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"steps": [1], "bounds": {1: 45.0}, "settle": 1.0}
    return {"steps": [1, 10, 50, 100], "bounds": {1: 60.0, 10: 120.0, 50: 300.0, 100: 420.0}, "settle": 5.0}


async def _wait_qr(conn: WebSocketClientConnection, deadline: float, out: dict[str, Any]) -> None:
    """Read the socket until the first `session.qr` frame; note failures seen on the way."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            text = await asyncio.wait_for(conn.read_message(), remaining)
        except asyncio.TimeoutError:
            return
        if text is None:
            out["error"] = "socket closed"
            return
        frame = json.loads(text)
        if frame["type"] == "session.qr":
            out["qr_at"] = time.perf_counter()
            return
        if frame["type"] == "session.status" and frame["data"]["state"] == "FAILED":
            out["failures"].append(frame["data"].get("error"))


async def _start(port: int, user: dict[str, Any], deadline: float) -> dict[str, Any]:
    out: dict[str, Any] = {"user_id": user["id"], "qr_at": None, "failures": [], "error": None}
    ws = await asyncio.wait_for(websocket_connect(f"ws://{HOST}:{port}/ws?token={user['token']}", ping_interval=None), 30)
    user["ws"] = ws
    await asyncio.wait_for(ws.read_message(), 30)  # hello
    conn = await HttpConnection.open(HOST, port)
    try:
        out["sent_at"] = time.perf_counter()
        response = await conn.request("POST", f"/api/whatsapp/start/{user['id']}", headers=bearer(user["token"]))
    finally:
        conn.close()
    if response.status != 202:
        out["error"] = f"HTTP {response.status}: {response.body[:200]!r}"
        return out
    await _wait_qr(ws, deadline, out)
    return out


def _memory(profiles: list[Any]) -> dict[str, Any]:
    per_session, private, counts, ours = [], [], [], set()
    for profile in profiles:
        pids = browser_processes(profile)
        if pids:
            usage = [memory_kb(pid) for pid in pids]
            per_session.append(sum(u["pss"] for u in usage) / 1024)
            private.append(sum(u["uss"] for u in usage) / 1024)
            counts.append(len(pids))
            ours.update(pids)
    return {
        "with_browser": len(per_session),
        "pss_mb_per_session": round(sum(per_session) / len(per_session), 1) if per_session else None,
        "pss_mb_min": round(min(per_session), 1) if per_session else None,
        "pss_mb_max": round(max(per_session), 1) if per_session else None,
        "pss_mb_total": round(sum(per_session), 1),
        "uss_mb_per_session": round(sum(private) / len(private), 1) if private else None,
        "processes_per_session": round(sum(counts) / len(counts), 1) if counts else None,
        # PSS splits shared pages with every Chromium on the machine, not only ours.
        "other_chromium_processes": len(set(chromium_processes()) - ours),
    }


def _seconds(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0, "p50_s": None, "p99_s": None, "max_s": None}
    return {"samples": len(values), "p50_s": round(percentile(values, 50), 3),
            "p99_s": round(percentile(values, 99), 3), "max_s": round(max(values), 3)}


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    most = max(size["steps"])
    _, sim_url = start_simulator(ctx.procs, cores=ctx.cores.load, fast=ctx.quick)
    server = start_wamulti(
        ctx.procs, "sessions", f"sqlite:///{ctx.workdir / 'sessions.db'}", cores=ctx.cores.server,
        overrides={"auth": {"bcrypt_rounds": 4, "register_max_per_address": most + 10},
                   "whatsapp": {"url": sim_url, "max_sessions": most + 2, "restore_on_boot": False,
                                # sessions wait on their QR through every step: none may stop unlinked
                                "ready_timeout": 120, "link_timeout": None}},
        profile_to=ctx.profile_path("sessions", "sqlite"),
    )
    users: list[dict[str, Any]] = []
    results, all_waits = [], []
    error = None
    try:
        conn = await server.connect()
        for i in range(most):
            token, user = await register(conn, f"session{i:02d}")
            users.append({"id": user["id"], "token": token})
        conn.close()
        started = 0
        for n in size["steps"]:
            bound = size["bounds"][n]
            began = time.monotonic()
            deadline = began + bound
            outcomes = await asyncio.gather(*(_start(server.port, u, deadline) for u in users[started:n]))
            started = n
            waits = [o["qr_at"] - o["sent_at"] for o in outcomes if o["qr_at"] is not None]
            all_waits += waits
            await asyncio.sleep(size["settle"])
            profiles = [server.data_dir / "sessions" / str(u["id"]) for u in users[:n]]
            memory = _memory(profiles)
            results.append({
                "sessions": n,
                "started_now": len(outcomes),
                "with_qr": len(all_waits),
                "start_to_qr": _seconds(waits),
                "failures": sum(len(o["failures"]) for o in outcomes),
                "errors": sorted({o["error"] for o in outcomes if o["error"]}),
                "step_seconds": round(time.monotonic() - began, 1),
                "server_pss_mb": round(pss_kb(server.pid) / 1024, 1),
                **memory,
            })
            print(f"bench: sessions {n}: {len(all_waits)} with a QR, {memory['pss_mb_per_session']} MB each",
                  file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 - the steps measured so far are kept
        error = describe_error(exc)
    finally:
        for user in users:
            if user.get("ws") is not None:
                user["ws"].close()
        ctx.procs.stop(server.proc, timeout=90)
    if not all_waits and error is None:
        error = f"no session showed a QR: {results}"
    out = {"how": HOW.format(steps=", ".join(map(str, size["steps"])), settle=size["settle"],
                             bounds=", ".join(f"{n} in {b:.0f} s" for n, b in size["bounds"].items())),
           "results": results, "start_to_qr_all": _seconds(all_waits)}
    if error:
        out["error"] = error
    return out

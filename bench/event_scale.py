"""Part of figure 3: the scale of work on the event path. Server CPU per `message` event with 1,
10 and 50 linked sessions, each with two sockets open: an event costs the same whatever else the
server holds, or the figure shows what grows."""
from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from bench.common import HOST, Context, browser_processes, describe_error, register, start_simulator, start_wamulti
from bench.fanout import Tally, _inject, close_all, link, open_sockets
from bench.load import CpuMeter, HttpConnection, WebSocketClient, summary_ms

SOCKETS_PER_USER = 2
FIRST_PHONE = 79990100000  # session i is linked as FIRST_PHONE + i

HOW = (
    "One `wamulti serve` process (SQLite, whatsapp plugin pointed at the simulator, `max_concurrent_starts` 2) "
    "pinned to the server core, with every session's Chromium inheriting that core; the simulator (realistic "
    "delays except ack_delay 0) and the clients on the other core. Sessions are linked step by step up to {steps} "
    "(a user each: REST start, the simulator's scan, CONNECTED and synced, {linkers} at a time), and each user "
    "has {sockets} sockets open. At each step, {idle:g} s idle first (the server's CPU share with nothing "
    "arriving: heartbeats and timers of every session), then {messages} messages injected one at a time, round "
    "robin over the users, each once both sockets of its user received the previous one. Reported: the server "
    "process's CPU per message over that window (µs; the share it used when idle, times the window, taken off "
    "as well: `net`), the sessions' browsers' CPU per message, and the latency from injection to each socket's "
    "`message` frame."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"steps": [1, 2], "messages": 10, "idle": 1.0, "linkers": 2, "gap": 0.01}
    return {"steps": [1, 10, 50], "messages": 200, "idle": 5.0, "linkers": 4, "gap": 0.02}


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    most = max(size["steps"])
    sim_proc, sim_url = start_simulator(ctx.procs, cores=ctx.cores.load, fast=ctx.quick, ack_delay=0)
    server = start_wamulti(
        ctx.procs, "event-scale", f"sqlite:///{ctx.workdir / 'event-scale.db'}", cores=ctx.cores.server,
        overrides={"auth": {"bcrypt_rounds": 4, "register_max_per_address": most + 10},
                   "whatsapp": {"url": sim_url, "max_sessions": most + 2, "restore_on_boot": False,
                                "ready_timeout": 120, "link_timeout": None}},
    )
    tally = Tally(tag=f"scale-{int(time.time())}-".encode(), sockets=SOCKETS_PER_USER)
    users: list[dict[str, Any]] = []
    sockets: list[WebSocketClient] = []
    results: list[dict[str, Any]] = []
    error = None
    seq = 0
    try:
        conn = await server.connect()
        for i in range(most):
            token, user = await register(conn, f"events{i:03d}")
            users.append({"id": user["id"], "token": token, "phone": str(FIRST_PHONE + i)})
        conn.close()
        host, port = sim_url.rstrip("/").split("//", 1)[1].split(":")
        sim = await HttpConnection.open(host, int(port))
        linked = 0
        for n in size["steps"]:
            began = time.monotonic()
            gate = asyncio.Semaphore(size["linkers"])

            async def link_one(user: dict[str, Any], gate: asyncio.Semaphore = gate) -> None:
                async with gate:
                    path = f"/ws?token={user['token']}"
                    first = await link(server, sim_url, user["token"], user["id"], f"ws://{HOST}:{server.port}{path}",
                                       phone=user["phone"])
                    first.close()

            await asyncio.gather(*(link_one(u) for u in users[linked:n]))
            for user in users[linked:n]:
                sockets += await open_sockets(server.port, f"/ws?token={user['token']}", tally, SOCKETS_PER_USER)
            linked = n
            link_seconds = time.monotonic() - began
            browsers = [pid for u in users[:n] for pid in browser_processes(server.data_dir / "sessions" / str(u["id"]))]
            groups = {"server": [server.pid], "browsers": browsers, "simulator": [sim_proc.pid]}

            idle = CpuMeter(groups)
            await asyncio.sleep(size["idle"])
            idle_cpu = idle.read()

            meter = CpuMeter(groups)
            missing = 0
            seqs = range(seq, seq + size["messages"])
            for k, s in enumerate(seqs):
                await _inject(sim, tally, s, phone=users[k % n]["phone"])
                try:
                    await asyncio.wait_for(tally.complete[s].wait(), 20)
                except asyncio.TimeoutError:
                    missing += SOCKETS_PER_USER - len(tally.received[s])
                await asyncio.sleep(size["gap"])
            busy = meter.read()
            seq += size["messages"]
            wall, count = busy["seconds"], size["messages"]
            server_us = busy["server"] * wall / count * 1e6
            results.append({
                "sessions": n,
                "sockets": n * SOCKETS_PER_USER,
                "messages": count,
                "missing_frames": missing,
                "closed": len(tally.closed),
                "link_seconds": round(link_seconds, 1),
                "server_cpu_us_per_message": round(server_us, 1),
                "server_idle_share": idle_cpu["server"],
                "server_cpu_us_per_message_net": round(max(0.0, busy["server"] - idle_cpu["server"]) * wall / count * 1e6, 1),
                "browsers_cpu_us_per_message": round(busy["browsers"] * wall / count * 1e6, 1),
                "latency": summary_ms(tally.latencies(seqs)),
                "cpu": busy,
                "idle_cpu": idle_cpu,
            })
            print(f"bench: event scale {n} sessions: server {server_us:.0f} µs per message "
                  f"(idle share {idle_cpu['server']:.3f}), linked in {link_seconds:.0f}s", file=sys.stderr, flush=True)
        sim.close()
    except Exception as exc:  # noqa: BLE001 - the steps measured so far are kept
        error = describe_error(exc)
    finally:
        await close_all(ctx, sockets, server, timeout=90)
    bad = [(r["sessions"], r["missing_frames"], r["closed"]) for r in results if r["missing_frames"] or r["closed"]]
    if bad and error is None:
        error = f"frames went missing or sockets closed (sessions, missing frames, closed sockets): {bad}"
    out: dict[str, Any] = {"how": HOW.format(steps=", ".join(map(str, size["steps"])), sockets=SOCKETS_PER_USER, **{
        k: size[k] for k in ("idle", "messages", "linkers")}), "results": results}
    if error:
        out["error"] = error
    return out

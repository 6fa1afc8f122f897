"""Figure 3: websocket fan-out, from a message arriving in the simulated WhatsApp page to every
socket of its user, with 1, 100 and 1,000 connected sockets."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tornado.websocket import WebSocketClientConnection, websocket_connect

from bench.common import (
    HOST, Context, WamultiServer, bearer, browser_processes, describe_error, expect, register, start_simulator, start_wamulti,
)
from bench.load import CpuMeter, HttpConnection, WebSocketClient, build_request, summary_ms

PHONE, FRIEND = "79990000001", "79990000002"
QUEUE_SIZE = 256  # websocket.queue_size, the server's default, set explicitly
MESSAGE_PREFIX = b'{"type":"message",'  # how server/events.py encodes a `message` frame

HOW = (
    "One `wamulti serve` process (SQLite, whatsapp plugin pointed at the simulator) pinned to the server core, with "
    "the Chromium of the one linked session inheriting that core; the simulator (tests/fakewa, realistic delays "
    "except ack_delay 0, so a message leaves for the page as soon as it is injected) and the websocket clients run "
    "on the other core; the clients are bench/load.py's raw asyncio websocket client (frames parsed in "
    "data_received, no task per frame), so that 1,000 of them cost the load core little. One user's session is linked through the REST API and the simulator's scan; then N "
    "sockets of that user are opened (`/ws?token=`). Latency: {paced} messages per step are injected one at a "
    "time (`POST /__sim/phones/{{phone}}/incoming`), each after every socket received the previous one; the time "
    "from just before the injection to each socket's `message` frame is one sample (N samples per message). "
    "Events/s: a burst of {burst} messages injected back to back; `message` frames received by all sockets "
    "divided by the time from the first injection to the last frame (the burst p50/p99 are that burst's "
    "latencies). The burst stays under websocket.queue_size ({queue}) frames per socket, so no socket may be "
    "closed as too slow; closures are counted anyway. CPU shares per phase are in the JSON: `<side>_waited` is "
    "the time that side's main thread was ready to run but had no CPU (other work on the machine)."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"steps": [1, 5], "paced": {1: 5, 5: 5}, "burst": 10, "gap": 0.02, "wait": 20.0}
    return {"steps": [1, 100, 1000], "paced": {1: 100, 100: 50, 1000: 20}, "burst": min(100, QUEUE_SIZE // 3),
            "gap": 0.05, "wait": 90.0}


@dataclass
class Tally:
    """What every socket received, by message sequence number."""

    tag: bytes
    sockets: int = 0
    sent: dict[int, float] = field(default_factory=dict)
    received: dict[int, list[float]] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)
    other: Counter = field(default_factory=Counter)
    closed: list[Any] = field(default_factory=list)

    def expect(self, seq: int) -> None:
        self.received[seq] = []
        self.complete[seq] = asyncio.Event()

    def on_text(self, payload: bytes) -> None:
        """Called for every frame of every socket, straight from the socket's data_received."""
        now = time.perf_counter()
        if payload.startswith(MESSAGE_PREFIX):
            at = payload.find(self.tag)
            if at >= 0:
                start = at + len(self.tag)
                times = self.received.get(int(payload[start:payload.index(b'"', start)]))
                if times is not None:
                    times.append(now)
                    if len(times) >= self.sockets:
                        self.complete[int(payload[start:payload.index(b'"', start)])].set()
                return
        self.other[payload[9:payload.find(b'"', 9)].decode()] += 1

    def latencies(self, seqs: range) -> list[float]:
        return [t - self.sent[s] for s in seqs for t in self.received.get(s, ())]


async def open_sockets(port: int, path: str, tally: Tally, count: int) -> list[WebSocketClient]:
    """``count`` more sockets, 50 at a time; each counts as open once its hello arrived."""
    opened = []
    while len(opened) < count:
        batch = min(50, count - len(opened))
        hellos_before = tally.other["hello"]
        new = await asyncio.gather(*(WebSocketClient.connect(HOST, port, path, tally.on_text) for _ in range(batch)))
        for client in new:
            client.closed.add_done_callback(lambda f: tally.closed.append(f.result()))
        deadline = time.monotonic() + 30
        while tally.other["hello"] < hellos_before + batch:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {tally.other['hello'] - hellos_before} of {batch} sockets said hello")
            await asyncio.sleep(0.01)
        opened += new
    return opened


async def _open_socket(url: str) -> WebSocketClientConnection:
    conn = await asyncio.wait_for(websocket_connect(url, ping_interval=None), 30)
    hello = await asyncio.wait_for(conn.read_message(), 30)
    if hello is None or '"type":"hello"' not in hello:
        raise RuntimeError(f"the first frame of a socket was not hello: {hello!r:.200}")
    return conn


async def _next_frame(conn: WebSocketClientConnection, kind: str, timeout: float, state: str | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = await asyncio.wait_for(conn.read_message(), max(0.1, deadline - time.monotonic()))
        if text is None:
            raise RuntimeError(f"the socket closed while waiting for {kind}")
        frame = json.loads(text)
        if frame["type"] == kind and (state is None or frame["data"].get("state") == state):
            return frame
        if frame["type"] == "session.status" and frame["data"].get("state") == "FAILED":
            raise RuntimeError(f"the session failed: {frame['data'].get('error')}")
    raise RuntimeError(f"no {kind} frame within {timeout:.0f}s")


async def link(server: WamultiServer, sim_url: str, token: str, user_id: int, ws_url: str,
               phone: str = PHONE) -> WebSocketClientConnection:
    """Start the user's session, scan its QR in the simulator as ``phone``, wait until its chats synced."""
    first = await _open_socket(ws_url)
    conn = await server.connect()
    try:
        expect(await conn.request("POST", f"/api/whatsapp/start/{user_id}", headers=bearer(token)), 202, "start")
        qr = (await _next_frame(first, "session.qr", 90))["data"]["qr"]
        sim = sim_url.rstrip("/").split("//", 1)[1]
        host, port = sim.split(":")
        control = await HttpConnection.open(host, int(port))
        try:
            scan = await control.request("POST", "/__sim/scan", body={"qr": qr, "phone": phone, "pushname": "Bench"})
        finally:
            control.close()
        expect(scan, 200, "scan the QR in the simulator")
        await _next_frame(first, "session.status", 60, state="CONNECTED")
        await _next_frame(first, "chats.synced", 60)
    finally:
        conn.close()
    return first


async def close_all(ctx: Context, sockets: list[WebSocketClient], server: WamultiServer, timeout: float) -> None:
    """The end of a fan-out run: every client socket closed, then the server stopped."""
    for client in sockets:
        client.close()
    await asyncio.sleep(0.2)
    ctx.procs.stop(server.proc, timeout=timeout)


async def _inject(sim: HttpConnection, tally: Tally, seq: int, phone: str = PHONE) -> None:
    raw = build_request("POST", f"/__sim/phones/{phone}/incoming", f"{sim.host}:{sim.port}",
                        body={"from": FRIEND, "body": f"{tally.tag.decode()}{seq}"})
    tally.expect(seq)
    tally.sent[seq] = time.perf_counter()
    expect(await sim.send(raw, timeout=30), 200, "inject a message")


async def measure_step(sim: HttpConnection, tally: Tally, first_seq: int, size: dict[str, Any], paced: int,
                       cpu_groups: dict[str, list[int]]) -> dict[str, Any]:
    """The paced messages (latency), then the burst (events/s), with the CPU each side used."""
    missing = 0
    paced_seqs = range(first_seq, first_seq + paced)
    meter = CpuMeter(cpu_groups)
    for seq in paced_seqs:
        await _inject(sim, tally, seq)
        try:
            await asyncio.wait_for(tally.complete[seq].wait(), size["wait"] / 4)
        except asyncio.TimeoutError:
            missing += tally.sockets - len(tally.received[seq])
        await asyncio.sleep(size["gap"])
    paced_cpu = meter.read()
    burst_seqs = range(first_seq + paced, first_seq + paced + size["burst"])
    meter = CpuMeter(cpu_groups)
    started = time.perf_counter()
    for seq in burst_seqs:
        await _inject(sim, tally, seq)
    try:
        await asyncio.wait_for(asyncio.gather(*(tally.complete[s].wait() for s in burst_seqs)), size["wait"])
    except asyncio.TimeoutError:
        missing += sum(tally.sockets - len(tally.received[s]) for s in burst_seqs)
    burst_cpu = meter.read()
    delivered = sum(len(tally.received[s]) for s in burst_seqs)
    last = max((max(tally.received[s]) for s in burst_seqs if tally.received[s]), default=started)
    burst = summary_ms(tally.latencies(burst_seqs))
    burst.update({
        "messages": size["burst"],
        "frames_delivered": delivered,
        "seconds": round(last - started, 3),
        "events_per_second": round(delivered / (last - started), 1) if last > started else None,
        "cpu": burst_cpu,
        # Server CPU per frame delivered during the burst (``message`` and ``chat`` frames alike are
        # work, but only ``message`` frames are counted): steadier than events/s on a busy machine.
        "server_cpu_us_per_message_frame": round(burst_cpu["server"] * burst_cpu["seconds"] / delivered * 1e6, 1)
        if delivered else None,
    })
    latency = summary_ms(tally.latencies(paced_seqs))
    latency["cpu"] = paced_cpu
    return {"latency": latency, "burst": burst, "missing_frames": missing}


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    sim_settings = {"ack_delay": 0}
    sim_proc, sim_url = start_simulator(ctx.procs, cores=ctx.cores.load, fast=ctx.quick, **sim_settings)
    server = start_wamulti(
        ctx.procs, "fanout", f"sqlite:///{ctx.workdir / 'fanout.db'}", cores=ctx.cores.server,
        overrides={
            "auth": {"bcrypt_rounds": 4},
            # 1,000 sockets of one user: past the default per-user cap (websocket.max_per_user, 20).
            "websocket": {"queue_size": QUEUE_SIZE, "max_per_user": 2000},
            "whatsapp": {"url": sim_url, "max_sessions": 2, "restore_on_boot": False, "ready_timeout": 90},
        },
        profile_to=ctx.profile_path("fanout", "sqlite"),
    )
    sockets: list[WebSocketClient] = []
    results = []
    error = None
    tally = Tally(tag=f"bench-{int(time.time())}-".encode())
    try:
        conn = await server.connect()
        token, user = await register(conn, "fanout")
        conn.close()
        path = f"/ws?token={token}"
        first = await link(server, sim_url, token, user["id"], f"ws://{HOST}:{server.port}{path}")
        first.close()
        browser = browser_processes(server.data_dir / "sessions" / str(user["id"]))
        cpu_groups = {"server": [server.pid], "browser": browser, "simulator": [sim_proc.pid]}
        host, port = sim_url.rstrip("/").split("//", 1)[1].split(":")
        sim = await HttpConnection.open(host, int(port))
        seq = 0
        for n in size["steps"]:
            opened_at = time.perf_counter()
            sockets += await open_sockets(server.port, path, tally, n - len(sockets))
            open_seconds = time.perf_counter() - opened_at
            tally.sockets = len(sockets) - len(tally.closed)
            paced = size["paced"][n]
            step = await measure_step(sim, tally, seq, size, paced, cpu_groups)
            seq += paced + size["burst"]
            results.append({
                "sockets": n,
                **step,
                "closed": len(tally.closed),
                "close_codes": sorted(set(map(str, tally.closed))),
                "other_frames": dict(tally.other),
                "open_seconds": round(open_seconds, 2),
            })
            lat, burst = step["latency"], step["burst"]
            print(f"bench: fanout {n} sockets: {lat['p50_ms']} / {lat['p99_ms']} ms, "
                  f"{burst['events_per_second']} events/s, burst CPU {burst['cpu']}", file=sys.stderr, flush=True)
        sim.close()
    except Exception as exc:  # noqa: BLE001 - the steps measured so far are kept
        error = describe_error(exc)
    finally:
        await close_all(ctx, sockets, server, timeout=40)
    bad = [(r["sockets"], r["missing_frames"], r["closed"]) for r in results
           if r["missing_frames"] or r["latency"]["samples"] == 0]
    if bad and error is None:
        error = f"frames went missing (sockets, missing frames, closed sockets): {bad}"
    out = {"how": HOW.format(paced="/".join(str(size["paced"][n]) for n in size["steps"]), burst=size["burst"],
                             queue=QUEUE_SIZE),
           "simulator": sim_settings, "queue_size": QUEUE_SIZE, "results": results}
    # The scale of work on the event path: 1, 10 and 50 sessions with two sockets each, on a
    # server of its own (bench/event_scale.py, which builds on this module).
    from bench import event_scale

    out["event_scale"] = await event_scale.run(ctx)
    errors = [e for e in (error, out["event_scale"].get("error")) if e]
    if errors:
        out["error"] = "; ".join(errors)
    return out

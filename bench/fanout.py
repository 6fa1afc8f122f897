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
    HOST, Context, WamultiServer, bearer, describe_error, expect, register, start_simulator, start_wamulti,
)
from bench.load import HttpConnection, build_request, summary_ms

PHONE, FRIEND = "79990000001", "79990000002"
QUEUE_SIZE = 256  # websocket.queue_size, the server's default, set explicitly
MESSAGE_PREFIX = '{"type":"message",'  # how server/events.py encodes a `message` frame

HOW = (
    "One `wamulti serve` process (SQLite, whatsapp plugin pointed at the simulator) pinned to the server core, with "
    "the Chromium of the one linked session inheriting that core; the simulator (tests/fakewa, realistic delays "
    "except ack_delay 0, so a message leaves for the page as soon as it is injected) and the websocket clients run "
    "on the other core. One user's session is linked through the REST API and the simulator's scan; then N "
    "sockets of that user are opened (`/ws?token=`). Latency: {paced} messages per step are injected one at a "
    "time (`POST /__sim/phones/{{phone}}/incoming`), each after every socket received the previous one; the time "
    "from just before the injection to each socket's `message` frame is one sample (N samples per message). "
    "Events/s: a burst of {burst} messages injected back to back; `message` frames received by all sockets "
    "divided by the time from the first injection to the last frame (the burst p50/p99 are that burst's "
    "latencies). The burst stays under websocket.queue_size ({queue}) frames per socket, so no socket may be "
    "closed as too slow; closures are counted anyway."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"steps": [1, 5], "paced": {1: 5, 5: 5}, "burst": 10, "gap": 0.02, "wait": 20.0}
    return {"steps": [1, 100, 1000], "paced": {1: 100, 100: 50, 1000: 20}, "burst": min(100, QUEUE_SIZE // 3),
            "gap": 0.05, "wait": 90.0}


@dataclass
class Tally:
    """What every socket received, by message sequence number."""

    sockets: int = 0
    sent: dict[int, float] = field(default_factory=dict)
    received: dict[int, list[float]] = field(default_factory=dict)
    complete: dict[int, asyncio.Event] = field(default_factory=dict)
    other: Counter = field(default_factory=Counter)
    closed: list[Any] = field(default_factory=list)

    def expect(self, seq: int) -> None:
        self.received[seq] = []
        self.complete[seq] = asyncio.Event()

    def got(self, seq: int, now: float) -> None:
        times = self.received.get(seq)
        if times is None:
            return
        times.append(now)
        if len(times) >= self.sockets:
            self.complete[seq].set()

    def latencies(self, seqs: range) -> list[float]:
        return [t - self.sent[s] for s in seqs for t in self.received.get(s, ())]


async def _read(conn: WebSocketClientConnection, tally: Tally, tag: str) -> None:
    while True:
        text = await conn.read_message()
        now = time.perf_counter()
        if text is None:
            tally.closed.append(conn.close_code)
            return
        if isinstance(text, str) and text.startswith(MESSAGE_PREFIX):
            body = json.loads(text)["data"].get("body", "")
            if body.startswith(tag):
                tally.got(int(body[len(tag):]), now)
                continue
        tally.other[json.loads(text).get("type")] += 1


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


async def link(server: WamultiServer, sim_url: str, token: str, user_id: int, ws_url: str) -> WebSocketClientConnection:
    """Start the user's session, scan its QR in the simulator, wait until its chats synced."""
    first = await _open_socket(ws_url)
    conn = await server.connect()
    try:
        expect(await conn.request("POST", f"/api/whatsapp/start/{user_id}", headers=bearer(token)), 202, "start")
        qr = (await _next_frame(first, "session.qr", 90))["data"]["qr"]
        sim = sim_url.rstrip("/").split("//", 1)[1]
        host, port = sim.split(":")
        control = await HttpConnection.open(host, int(port))
        try:
            scan = await control.request("POST", "/__sim/scan", body={"qr": qr, "phone": PHONE, "pushname": "Bench"})
        finally:
            control.close()
        expect(scan, 200, "scan the QR in the simulator")
        await _next_frame(first, "session.status", 60, state="CONNECTED")
        await _next_frame(first, "chats.synced", 60)
    finally:
        conn.close()
    return first


async def _inject(sim: HttpConnection, tally: Tally, tag: str, seq: int) -> None:
    raw = build_request("POST", f"/__sim/phones/{PHONE}/incoming", f"{sim.host}:{sim.port}",
                        body={"from": FRIEND, "body": f"{tag}{seq}"})
    tally.expect(seq)
    tally.sent[seq] = time.perf_counter()
    expect(await sim.send(raw, timeout=30), 200, "inject a message")


async def measure_step(sim: HttpConnection, tally: Tally, tag: str, first_seq: int, paced: int, burst: int,
                       gap: float, wait: float) -> tuple[dict[str, Any], dict[str, Any], int]:
    seq = first_seq
    paced_seqs = range(seq, seq + paced)
    missing = 0
    for s in paced_seqs:
        await _inject(sim, tally, tag, s)
        try:
            await asyncio.wait_for(tally.complete[s].wait(), wait / 4)
        except asyncio.TimeoutError:
            missing += tally.sockets - len(tally.received[s])
        await asyncio.sleep(gap)
    burst_seqs = range(seq + paced, seq + paced + burst)
    started = time.perf_counter()
    for s in burst_seqs:
        await _inject(sim, tally, tag, s)
    try:
        await asyncio.wait_for(asyncio.gather(*(tally.complete[s].wait() for s in burst_seqs)), wait)
    except asyncio.TimeoutError:
        missing += sum(tally.sockets - len(tally.received[s]) for s in burst_seqs)
    delivered = sum(len(tally.received[s]) for s in burst_seqs)
    last = max((max(tally.received[s]) for s in burst_seqs if tally.received[s]), default=started)
    burst_summary = summary_ms(tally.latencies(burst_seqs))
    burst_summary.update({
        "messages": burst,
        "frames_delivered": delivered,
        "seconds": round(last - started, 3),
        "events_per_second": round(delivered / (last - started), 1) if last > started else None,
    })
    return summary_ms(tally.latencies(paced_seqs)), burst_summary, missing


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    sim_settings = {"ack_delay": 0}
    _, sim_url = start_simulator(ctx.procs, cores=ctx.cores.load, fast=ctx.quick, **sim_settings)
    server = start_wamulti(
        ctx.procs, "fanout", f"sqlite:///{ctx.workdir / 'fanout.db'}", cores=ctx.cores.server,
        overrides={
            "auth": {"bcrypt_rounds": 4},
            "websocket": {"queue_size": QUEUE_SIZE},
            "whatsapp": {"url": sim_url, "max_sessions": 2, "restore_on_boot": False, "ready_timeout": 90},
        },
        profile_to=ctx.profile_path("fanout", "sqlite"),
    )
    sockets: list[WebSocketClientConnection] = []
    readers: list[asyncio.Task] = []
    results = []
    error = None
    tally = Tally()
    try:
        conn = await server.connect()
        token, user = await register(conn, "fanout")
        conn.close()
        ws_url = f"ws://{HOST}:{server.port}/ws?token={token}"
        sockets.append(await link(server, sim_url, token, user["id"], ws_url))
        tag = f"bench-{int(time.time())}-"
        readers.append(asyncio.ensure_future(_read(sockets[0], tally, tag)))
        host, port = sim_url.rstrip("/").split("//", 1)[1].split(":")
        sim = await HttpConnection.open(host, int(port))
        seq = 0
        for n in size["steps"]:
            opened_at = time.perf_counter()
            while len(sockets) < n:
                batch = min(50, n - len(sockets))
                new = await asyncio.gather(*(_open_socket(ws_url) for _ in range(batch)))
                sockets.extend(new)
                readers.extend(asyncio.ensure_future(_read(s, tally, tag)) for s in new)
            open_seconds = time.perf_counter() - opened_at
            tally.sockets = len(sockets) - len(tally.closed)
            paced = size["paced"][n]
            latency, burst, missing = await measure_step(sim, tally, tag, seq, paced, size["burst"], size["gap"],
                                                         size["wait"])
            seq += paced + size["burst"]
            results.append({
                "sockets": n,
                "latency": latency,
                "burst": burst,
                "missing_frames": missing,
                "closed": len(tally.closed),
                "close_codes": sorted(set(map(str, tally.closed))),
                "other_frames": dict(tally.other),
                "open_seconds": round(open_seconds, 2),
            })
            print(f"bench: fanout {n} sockets: {latency['p50_ms']} / {latency['p99_ms']} ms, "
                  f"{burst['events_per_second']} events/s", file=sys.stderr, flush=True)
        sim.close()
    except Exception as exc:  # noqa: BLE001 - the steps measured so far are kept
        error = describe_error(exc)
    finally:
        for task in readers:
            task.cancel()
        for s in sockets:
            s.close()
        await asyncio.sleep(0.2)
        ctx.procs.stop(server.proc, timeout=40)
    bad = [(r["sockets"], r["missing_frames"], r["closed"]) for r in results
           if r["missing_frames"] or r["latency"]["samples"] == 0]
    if bad and error is None:
        error = f"frames went missing (sockets, missing frames, closed sockets): {bad}"
    out = {"how": HOW.format(paced="/".join(str(size["paced"][n]) for n in size["steps"]), burst=size["burst"],
                             queue=QUEUE_SIZE),
           "simulator": sim_settings, "queue_size": QUEUE_SIZE, "results": results}
    if error:
        out["error"] = error
    return out

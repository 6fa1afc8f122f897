"""Figure 5: media — a 20 MB file uploaded (`POST /api/whatsapp/media/:id`, the raw body streamed) and
sent as a document through a linked session (`POST /api/whatsapp/send/:id`): seconds for each, and
the server's peak RSS growth meanwhile, which must stay well under the file's size (the server
streams the upload to disk and the file to the browser in 256 KiB chunks; it never holds it whole)."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from bench.common import (
    HOST, Context, WamultiServer, bearer, browser_processes, describe_error, expect, register, start_simulator, start_wamulti,
)
from bench.load import HttpConnection

PHONE, FRIEND = "79990000021", "79990000022"
MB = 1024 * 1024
CHUNK = 256 * 1024  # bytes per write of the upload and per read of the download check
SAMPLE_EVERY = 0.02  # seconds between two RSS samples
TAIL = 0.5  # seconds sampled after the send answered (work the server finishes after its 201)
BOUND = 0.5  # "well under the file size": every run's peak growth below this share of the file

HOW = (
    "One `wamulti serve` process (SQLite, whatsapp plugin pointed at the simulator, send_rate without jitter so "
    "the rate limiter adds no pause) pinned to the server core, with the Chromium of the one linked session "
    "inheriting that core; the simulator (tests/fakewa) and the bench run on the other core. One user's session "
    "is linked through the REST API and the simulator's scan (`POST /__sim/scan`) and is CONNECTED before "
    "anything is measured. Per run, a fresh file of {size} MB of random bytes is written to disk, then: "
    "**upload**: `POST /api/whatsapp/media/:id?filename=big.bin` with the raw file as "
    "`application/octet-stream`, streamed from disk in 256 KiB writes on a connection of its own, timed from "
    "the first byte sent to the 201; **send**: `POST /api/whatsapp/send/:id {{to, mediaId, as: \"document\"}}`, "
    "timed to its 201 (the file goes to the browser in chunks over DevTools, then the page uploads it to the "
    "simulator's CDN). From just before the upload to {tail:g} s after the send answered, a thread of the bench "
    "reads the server's VmRSS (`/proc/<pid>/status`) every {every:g} ms (on a busy machine a little less often: the "
    "mean interval achieved is in the JSON); the baseline is the reading just before "
    "the upload, the peak the highest sample, and growth = peak − baseline, also as a share of the file's size. "
    "The kernel's own high-water mark (VmHWM, reset through `/proc/<pid>/clear_refs` before each run) is "
    "reported beside it: it also catches a peak between two samples. The browser's growth is the same for the "
    "sum of VmRSS over the session's Chromium processes (found by its `--user-data-dir` before the upload; a sum "
    "of RSS counts shared pages once per process, so only its growth means something). At the end of each run "
    "the recipient's simulated phone must list the document with the file's SHA-256, and the bytes the "
    "simulator holds under it are hashed again. {runs}; the summary gives the medians of the measured runs and "
    "the largest growth of any."
)


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"file_mb": 2, "warmups": 0, "runs": 1}
    return {"file_mb": 20, "warmups": 1, "runs": 3}


# -- /proc ----------------------------------------------------------------------------------------------
def status_kb(pid: int, key: bytes) -> int:
    """One ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(key + b":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (``5`` to clear_refs, Linux 4.0+)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


class RssSampler:
    """VmRSS of the server and the summed VmRSS of ``browser`` every ``interval`` seconds, in a thread
    of its own, so that the bench's event loop, busy with the upload, does not delay the samples."""

    def __init__(self, server_pid: int, browser: list[int], interval: float = SAMPLE_EVERY) -> None:
        self.server_pid, self.browser, self.interval = server_pid, browser, interval
        self.server_kb: list[int] = []
        self.browser_kb: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.began = self.ended = 0.0

    def _sample(self) -> None:
        self.server_kb.append(status_kb(self.server_pid, b"VmRSS"))
        self.browser_kb.append(sum(status_kb(pid, b"VmRSS") for pid in self.browser))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._sample()  # the baseline, before anything runs
        self.began = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.ended = time.monotonic()
        self._sample()

    @property
    def mean_interval_ms(self) -> float:
        return round((self.ended - self.began) / max(1, len(self.server_kb) - 2) * 1000, 1)


def growth(samples_kb: list[int], file_bytes: int) -> dict[str, Any]:
    """Baseline (the first sample), peak and peak − baseline, also as a share of the file's size."""
    baseline, peak = samples_kb[0], max(samples_kb)
    return {"baseline_mb": round(baseline / 1024, 1), "peak_mb": round(peak / 1024, 1),
            "growth_mb": round((peak - baseline) / 1024, 2),
            "growth_of_file": round((peak - baseline) * 1024 / file_bytes, 3)}


# -- HTTP with a streamed body ----------------------------------------------------------------------------
async def _read_response(reader: asyncio.StreamReader, sink: Callable[[bytes], Any] | None = None) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 answer with a Content-Length; with ``sink`` the body is fed to
    it chunk by chunk instead of returned."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:] if line)}
    left = int(headers.get("content-length", "0"))
    if sink is None:
        return status, await reader.readexactly(left)
    while left:
        chunk = await reader.read(min(CHUNK, left))
        if not chunk:
            raise ConnectionError("the answer ended early")
        sink(chunk)
        left -= len(chunk)
    return status, b""


async def upload(server: WamultiServer, token: str, user_id: int, path: Path) -> tuple[int, bytes, float]:
    """POST the file as a raw body, read from disk CHUNK bytes at a time; (status, body, seconds)."""
    size = path.stat().st_size
    reader, writer = await asyncio.open_connection(HOST, server.port)
    head = (f"POST /api/whatsapp/media/{user_id}?filename={path.name} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    try:
        started = time.perf_counter()
        writer.write(head)
        try:  # plain reads: the file was just written, so they come from the page cache in microseconds
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    writer.write(chunk)
                    await writer.drain()
        except ConnectionError:
            pass  # the server answered early (a refusal): read what it said
        status, body = await asyncio.wait_for(_read_response(reader), 300)
        return status, body, time.perf_counter() - started
    finally:
        writer.close()


async def sha256_of(host: str, port: int, path: str) -> tuple[int, str]:
    """GET ``path`` and hash the body as it comes; (status, hex digest)."""
    digest = hashlib.sha256()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        status, _ = await asyncio.wait_for(_read_response(reader, digest.update), 120)
        return status, digest.hexdigest()
    finally:
        writer.close()


def random_file(path: Path, size: int) -> str:
    """``size`` random bytes written to ``path`` a MB at a time; their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for start in range(0, size, MB):
            block = os.urandom(min(MB, size - start))
            digest.update(block)
            handle.write(block)
    return digest.hexdigest()


# -- the session ------------------------------------------------------------------------------------------
async def wait_state(conn: HttpConnection, token: str, user_id: int, state: str, timeout: float) -> dict[str, Any]:
    """Poll `GET /api/whatsapp/status/:id` until the session is in ``state``."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = expect(await conn.request("GET", f"/api/whatsapp/status/{user_id}", headers=bearer(token)), 200,
                      "session status").json()
        if seen["state"] == state:
            return seen
        if seen["state"] == "FAILED":
            raise RuntimeError(f"the session failed: {seen.get('error')}")
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the session was not {state} within {timeout:.0f}s: {seen}")


async def link(conn: HttpConnection, sim: HttpConnection, token: str, user_id: int) -> None:
    """Start the session, scan its QR with PHONE in the simulator, wait until CONNECTED."""
    expect(await conn.request("POST", f"/api/whatsapp/start/{user_id}", headers=bearer(token)), 202, "start")
    for _ in range(3):  # a QR ref may rotate between reading and scanning on a busy machine
        await wait_state(conn, token, user_id, "QR", 90)
        qr = await conn.request("GET", f"/api/whatsapp/qr/{user_id}", headers=bearer(token))
        if qr.status != 200:
            continue
        scan = await sim.request("POST", "/__sim/scan", body={"qr": qr.json()["qr"], "phone": PHONE, "pushname": "Bench"})
        if scan.status == 200:
            break
    else:
        raise RuntimeError("could not scan the session's QR in the simulator three times over")
    await wait_state(conn, token, user_id, "CONNECTED", 90)


async def at_phone(sim: HttpConnection, message_id: str, timeout: float = 30.0) -> dict[str, Any] | None:
    """The message as FRIEND's phone lists it (the id part after the last ``_`` is shared by both sides)."""
    wanted = message_id.rsplit("_", 1)[-1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = expect(await sim.request("GET", f"/__sim/phones/{FRIEND}/messages"), 200, "the phone's messages").json()
        for message in listed["messages"]:
            if message["id"]["id"] == wanted and message.get("media"):
                return message
        await asyncio.sleep(0.1)
    return None


# -- one run ----------------------------------------------------------------------------------------------
async def one_run(ctx: Context, server: WamultiServer, conn: HttpConnection, sim: HttpConnection, token: str,
                  user_id: int, file_bytes: int, label: str) -> dict[str, Any]:
    path = ctx.workdir / "media" / label.replace(" ", "-") / "big.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = random_file(path, file_bytes)
    browser = browser_processes(server.data_dir / "sessions" / str(user_id))
    hwm_reset = reset_peak(server.pid)
    sampler = RssSampler(server.pid, browser)
    sampler.start()
    try:
        status, body, upload_s = await upload(server, token, user_id, path)
        if status != 201:
            raise RuntimeError(f"upload: expected HTTP 201, got {status}: {body[:300]!r}")
        media_id = json.loads(body)["mediaId"]
        started = time.perf_counter()
        sent = await conn.request("POST", f"/api/whatsapp/send/{user_id}", headers=bearer(token), timeout=300,
                                  body={"to": FRIEND, "mediaId": media_id, "as": "document"})
        send_s = time.perf_counter() - started
        expect(sent, 201, "send the document")
        await asyncio.sleep(TAIL)
    finally:
        sampler.stop()
        path.unlink(missing_ok=True)
    hwm_kb = status_kb(server.pid, b"VmHWM") if hwm_reset else 0
    server_growth = growth(sampler.server_kb, file_bytes)
    if hwm_kb:
        server_growth["hwm_growth_mb"] = round((hwm_kb - sampler.server_kb[0]) / 1024, 2)
    listed = await at_phone(sim, sent.json()["id"])
    matched = None
    if listed is not None:
        sim_status, held = await sha256_of(sim.host, sim.port, f"/__sim/media/{listed['media']['sha256']}")
        matched = listed["media"]["sha256"] == digest and sim_status == 200 and held == digest
    return {
        "run": label, "file_mb": round(file_bytes / MB, 1), "upload_s": round(upload_s, 3), "send_s": round(send_s, 3),
        "upload_mb_per_s": round(file_bytes / MB / upload_s, 1),
        "server": server_growth,
        "browser": {**growth(sampler.browser_kb, file_bytes), "processes": len(browser)} if browser else None,
        "samples": len(sampler.server_kb), "sample_interval_ms": sampler.mean_interval_ms,
        "at_phone": listed is not None, "sha256_matched": matched,
    }


def _runs_sentence(runs: int, warmups: int) -> str:
    measured = f"{runs} measured run" + ("s" if runs > 1 else "")
    if not warmups:
        return (f"{measured}, no warm-up (the growth then includes what the server allocates once, on the first "
                "large body it handles)")
    return (f"{measured} after {warmups} warm-up run reported apart (the first large body a process handles may "
            "grow its heap for good)")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    if not runs:
        return {}
    shares = [r["server"]["growth_of_file"] for r in runs]
    browser = [r["browser"]["growth_mb"] for r in runs if r["browser"]]
    hwm = [r["server"]["hwm_growth_mb"] for r in runs if "hwm_growth_mb" in r["server"]]
    return {
        "runs": len(runs),
        "upload_s": round(statistics.median(r["upload_s"] for r in runs), 3),
        "send_s": round(statistics.median(r["send_s"] for r in runs), 3),
        "server_growth_mb": round(statistics.median(r["server"]["growth_mb"] for r in runs), 2),
        "server_growth_of_file": round(statistics.median(shares), 3),
        "server_growth_of_file_max": max(shares),
        "server_hwm_growth_mb": round(statistics.median(hwm), 2) if hwm else None,
        "browser_growth_mb": round(statistics.median(browser), 1) if browser else None,
        "bound_of_file": BOUND,
        "under_bound": max(shares + [h / runs[0]["file_mb"] for h in hwm]) < BOUND,
        "all_matched": all(r["sha256_matched"] for r in runs),
    }


async def run(ctx: Context) -> dict[str, Any]:
    size = sizes(ctx.quick)
    file_bytes = size["file_mb"] * MB
    sim_proc, sim_url = start_simulator(ctx.procs, cores=ctx.cores.load, fast=ctx.quick)
    server = start_wamulti(
        ctx.procs, "media", f"sqlite:///{ctx.workdir / 'media.db'}", cores=ctx.cores.server,
        overrides={"auth": {"bcrypt_rounds": 4},
                   "whatsapp": {"url": sim_url, "max_sessions": 2, "restore_on_boot": False, "ready_timeout": 120,
                                "send_rate": {"per_minute": 6000, "burst": 100, "jitter_seconds": 0}}},
        profile_to=ctx.profile_path("media", "sqlite"),
    )
    sim_address = urlparse(sim_url)
    warmups, runs = [], []
    error = None
    conn = sim = None
    try:
        conn = await server.connect()
        sim = await HttpConnection.open(sim_address.hostname or HOST, sim_address.port or 80)
        token, user = await register(conn, "media")
        expect(await sim.request("POST", "/__sim/phones", body={"phone": FRIEND, "pushname": "Friend"}), 200,
               "the recipient joins WhatsApp")
        await link(conn, sim, token, user["id"])
        for n in range(size["warmups"] + size["runs"]):
            warm = n < size["warmups"]
            label = f"warm-up {n + 1}" if warm else f"run {n - size['warmups'] + 1}"
            result = await one_run(ctx, server, conn, sim, token, user["id"], file_bytes, label)
            (warmups if warm else runs).append(result)
            print(f"bench: media {label}: upload {result['upload_s']:.2f}s, send {result['send_s']:.2f}s, server "
                  f"+{result['server']['growth_mb']} MB ({result['server']['growth_of_file']:.0%} of the file)",
                  file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 - the runs measured so far are kept
        error = describe_error(exc)
    finally:
        for client in (conn, sim):
            if client is not None:
                client.close()
        ctx.procs.stop(server.proc, timeout=90)
        ctx.procs.stop(sim_proc)
    if not runs and error is None:
        error = "no run completed"
    out: dict[str, Any] = {
        "how": HOW.format(size=size["file_mb"], tail=TAIL, every=SAMPLE_EVERY * 1000,
                          runs=_runs_sentence(size["runs"], size["warmups"])),
        "file_mb": size["file_mb"], "warmups": warmups, "runs": runs, "summary": summary(runs),
    }
    if error:
        out["error"] = error
    return out

"""A small HTTP/1.1 load generator: keep-alive connections on raw asyncio protocols.

It has to stay much cheaper than the server it measures, so a request is a prebuilt bytes
object and a response is parsed only as far as its status line, Content-Length and body.
Every loop here ends by a count or a deadline, whichever comes first.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

CRLF = b"\r\n"


class HttpError(Exception):
    """The connection broke, or the peer answered something that is not HTTP/1.1."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def build_request(
    method: str, path: str, host: str, *, body: bytes | str | dict | None = None, headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one keep-alive request; a dict body is sent as JSON."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    extra = dict(headers or {})
    if body is not None:
        extra.setdefault("Content-Type", "application/json")
        extra["Content-Length"] = str(len(body))
    lines += [f"{name}: {value}" for name, value in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class _Protocol(asyncio.Protocol):
    """One connection; at most one request in flight (no pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self._head: tuple[int, dict[str, str], int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"connection lost: {exc or 'closed by the server'}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        if self._head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self._head = _parse_head(bytes(self.buffer[:end]), end + 4)
            except (ValueError, IndexError) as exc:
                self.waiter.set_exception(HttpError(f"not an HTTP response: {exc}"))
                return
        status, headers, start = self._head
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < start + length:
            return
        body = bytes(self.buffer[start:start + length])
        del self.buffer[:start + length]
        self._head = None
        self.waiter.set_result(Response(status, headers, body))


def _parse_head(head: bytes, start: int) -> tuple[int, dict[str, str], int]:
    lines = head.split(CRLF)
    if not lines[0].startswith(b"HTTP/1."):
        raise ValueError(lines[0][:40])
    status = int(lines[0][9:12])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if "chunked" in headers.get("transfer-encoding", ""):
        raise ValueError("chunked responses are not supported by this client")
    return status, headers, start


class HttpConnection:
    """``conn = await HttpConnection.open(host, port)``; ``await conn.request("GET", "/x")``."""

    def __init__(self, host: str, port: int, protocol: _Protocol) -> None:
        self.host, self.port = host, port
        self._protocol = protocol

    @classmethod
    async def open(cls, host: str, port: int, timeout: float = 10.0) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(loop.create_connection(_Protocol, host, port), timeout)
        return cls(host, port, protocol)

    @property
    def closed(self) -> bool:
        return self._protocol.closed

    async def send(self, raw: bytes, timeout: float = 30.0) -> Response:
        """Send a prebuilt request and wait for its response."""
        p = self._protocol
        if p.closed or p.transport is None:
            raise HttpError("connection closed")
        p.waiter = asyncio.get_running_loop().create_future()
        p.transport.write(raw)
        if timeout is None:
            return await p.waiter
        return await asyncio.wait_for(p.waiter, timeout)

    async def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30.0
    ) -> Response:
        return await self.send(build_request(method, path, f"{self.host}:{self.port}", body=body, headers=headers), timeout)

    def close(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()


async def request(host: str, port: int, method: str, path: str, **kwargs: Any) -> Response:
    """One request on a connection of its own."""
    conn = await HttpConnection.open(host, port)
    try:
        return await conn.request(method, path, **kwargs)
    finally:
        conn.close()


# -- websockets ---------------------------------------------------------------------------------------
class _WebSocketProtocol(asyncio.Protocol):
    """The client side of RFC 6455, as little of it as a load generator needs: the upgrade, text
    frames handed to a callback as bytes straight from ``data_received`` (no task or future per
    frame), pings answered, the close code kept. Frames from the server are never masked."""

    def __init__(self, request: bytes, on_text: Any) -> None:
        self.request = request
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(HttpError(f"connection lost before the upgrade: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[:end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(HttpError(f"no upgrade: {head[:200]!r}"))
                self.transport.close()
                return
            self.upgraded.set_result(None)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            first, length = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head:pos + head + length])
            pos += head + length
            opcode = first & 0x0F
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9:
                self.send(0xA, payload)
            elif opcode == 0x8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.send(0x8, payload[:2])
                self.transport.close()
        del buf[:pos]

    def send(self, opcode: int, payload: bytes) -> None:
        """A masked frame (clients must mask); short payloads only."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


class WebSocketClient:
    """``await WebSocketClient.connect(host, port, "/ws?token=...", on_text)``; ``on_text(payload)``
    gets each text frame's bytes as they arrive."""

    def __init__(self, protocol: _WebSocketProtocol) -> None:
        self._protocol = protocol

    @classmethod
    async def connect(cls, host: str, port: int, path: str, on_text: Any, timeout: float = 30.0) -> WebSocketClient:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _WebSocketProtocol(request, on_text), host, port), timeout)
        await asyncio.wait_for(protocol.upgraded, timeout)
        return cls(protocol)

    @property
    def closed(self) -> asyncio.Future:
        """Resolves with the close code (None without a close frame) once the connection ended."""
        return self._protocol.closed

    def close(self) -> None:
        self._protocol.send(0x8, (1000).to_bytes(2, "big"))
        if self._protocol.transport is not None:
            self._protocol.transport.close()


# -- CPU accounting -------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return 0.0
    fields = data[data.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def run_delay_seconds(pid: int) -> float:
    """How long the process's main thread (an event loop) has waited, runnable, for a CPU."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """CPU used by this process and by named groups of other processes over a stretch of wall time,
    and how long the first process of each group waited for a CPU it was ready to use: when that
    ``<group>_waited`` share is large, other work on the machine took the core and the timings
    of that stretch say more about the machine than about wamulti."""

    def __init__(self, groups: dict[str, Iterable[int]] | None = None) -> None:
        self.groups = {name: list(pids) for name, pids in (groups or {}).items()}
        self.wall = time.perf_counter()
        self.own = time.process_time()
        self.own_delay = run_delay_seconds(os.getpid())
        self.start = {pid: process_cpu_seconds(pid) for pids in self.groups.values() for pid in pids}
        self.delay = {pids[0]: run_delay_seconds(pids[0]) for pids in self.groups.values() if pids}

    def read(self) -> dict[str, float]:
        """Fractions of one core: ``client`` (this process) and each group (its processes summed)."""
        wall = max(time.perf_counter() - self.wall, 1e-9)
        out = {"seconds": round(wall, 3), "client": round((time.process_time() - self.own) / wall, 3),
               "client_waited": round((run_delay_seconds(os.getpid()) - self.own_delay) / wall, 3)}
        for name, pids in self.groups.items():
            used = sum(process_cpu_seconds(pid) - self.start[pid] for pid in pids)
            out[name] = round(used / wall, 3)
            if pids:
                out[f"{name}_waited"] = round((run_delay_seconds(pids[0]) - self.delay[pids[0]]) / wall, 3)
        return out


# -- closed-loop throughput -----------------------------------------------------------------------
@dataclass
class Round:
    requests: int
    errors: int
    seconds: float
    client_cpu: float
    server_cpu: float
    server_waited: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_cpu_us(self) -> float:
        """Server CPU time per answered request, in microseconds: unlike req/s, it hardly moves
        when other processes take the server's core away for a while."""
        return self.server_cpu * self.seconds / self.requests * 1e6 if self.requests else 0.0


@dataclass
class Load:
    """``connections`` keep-alive connections to one server, each sending ``raw`` again as soon as
    the previous answer came (a closed loop). Answers are checked against ``expect_status`` and,
    when given, ``expect_body``."""

    host: str
    port: int
    raw: bytes
    connections: int = 16
    expect_status: int = 200
    expect_body: bytes | None = None
    server_pids: Sequence[int] = ()
    _conns: list[HttpConnection] = field(default_factory=list)
    first_error: str | None = None

    async def open(self) -> Load:
        self._conns = [await HttpConnection.open(self.host, self.port) for _ in range(self.connections)]
        return self

    def close(self) -> None:
        for conn in self._conns:
            conn.close()
        self._conns = []

    async def _worker(self, conn: HttpConnection, stop_at: float, counts: list[int]) -> None:
        status, body = self.expect_status, self.expect_body
        while time.perf_counter() < stop_at:
            try:
                response = await conn.send(self.raw, timeout=max(1.0, stop_at - time.perf_counter() + 10))
            except (HttpError, asyncio.TimeoutError, OSError) as exc:
                counts[1] += 1
                self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"
                return
            if time.perf_counter() > stop_at:
                return  # finished after the round: not counted
            if response.status != status or (body is not None and response.body != body):
                counts[1] += 1
                if self.first_error is None:
                    self.first_error = f"HTTP {response.status}: {response.body[:200]!r}"
            else:
                counts[0] += 1

    async def round(self, seconds: float) -> Round:
        """Load for ``seconds``; requests still in flight at the end are not counted."""
        if any(conn.closed for conn in self._conns):
            self.close()
            await self.open()
        counts = [0, 0]
        meter = CpuMeter({"server": self.server_pids})
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(self._worker(conn, stop_at, counts) for conn in self._conns))
        cpu = meter.read()
        return Round(counts[0], counts[1], seconds, cpu["client"], cpu["server"], cpu.get("server_waited", 0.0))


# -- latency ----------------------------------------------------------------------------------------
async def paced_latencies(
    conn: HttpConnection, raw: bytes, *, count: int, interval: float, max_seconds: float, expect_status: int = 200
) -> tuple[list[float], int]:
    """Send ``raw`` every ``interval`` seconds (or right after the previous answer when that came
    later), at most ``count`` times and for at most ``max_seconds``. Returns the latencies in
    seconds of the good answers and the number of bad ones."""
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    deadline = time.perf_counter() + max_seconds
    next_at = loop.time()
    for _ in range(count):
        if time.perf_counter() > deadline:
            break
        delay = next_at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        next_at += interval
        sent = time.perf_counter()
        try:
            response = await conn.send(raw, timeout=10)
        except (HttpError, asyncio.TimeoutError, OSError):
            errors += 1
            break
        took = time.perf_counter() - sent
        if response.status == expect_status:
            latencies.append(took)
        else:
            errors += 1
    return latencies, errors


# -- statistics ---------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between the closest ranks."""
    if not values:
        raise ValueError("no values")
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """p50/p99/max in milliseconds and the sample count of a list of durations in seconds."""
    if not seconds:
        return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "samples": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3),
    }


def median(values: Sequence[float]) -> float:
    return statistics.median(values)

"""Bounded load on loopback: 200 websocket clients, steady REST traffic, and WhatsApp sessions
sending and receiving through the simulator for 60 seconds (``WAMULTI_LOAD_SECONDS``).

The server runs in its own process, so its memory is its own. Asserted: no HTTP error, every
``message`` event at every socket of its user exactly once and at no other user's socket, every
socket still open, and the server's RSS flat after warm-up. The figures are printed (run with -s).
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from tornado.websocket import websocket_connect

from tests.support.server import bearer
from tests.support.faults import ServerProcess, kill_profile, write_config
from tests.support.whatsapp import link, wa_config

DURATION = float(os.environ.get("WAMULTI_LOAD_SECONDS", "60"))
USERS = 4
SOCKETS_PER_USER = 50
INCOMING_EVERY = 0.5  # seconds between messages the simulator delivers to each user
SEND_EVERY = 1.0  # seconds between REST sends of each user
REST_TASKS = 4
REST_EVERY = 0.1  # seconds between requests of each REST task (40 requests/s in all)
RSS_EVERY = 2.0
WARM_UP = 0.3  # the first 30% of the run is warm-up; memory is judged on the rest
RSS_GROWTH = 1.20  # the last third may not exceed the first sample after warm-up by more than 20%
SENDERS = ["79990000901", "79990000902", "79990000903"]


@dataclass
class Counting:
    """A websocket client that counts what it receives."""

    user: int
    conn: Any
    messages: Counter = field(default_factory=Counter)
    types: Counter = field(default_factory=Counter)
    replies: dict = field(default_factory=dict)
    closed: bool = False

    async def read(self) -> None:
        while True:
            text = await self.conn.read_message()
            if text is None:
                self.closed = True
                return
            frame = json.loads(text)
            self.types[frame["type"]] += 1
            if frame["type"] == "message":
                self.messages[frame["data"]["id"]] += 1
            elif frame["type"] == "reply":
                self.replies[frame["data"]["ref"]] = frame["data"]


async def test_200_sockets_rest_and_sessions_for_a_minute(fakewa, tmp_path):
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "config.yaml",
        data_dir=str(data),
        database={"url": f"sqlite:///{tmp_path / 'wamulti.db'}"},
        auth={"bcrypt_rounds": 4, "jwt_secret": "l" * 40},
        websocket={"max_per_user": SOCKETS_PER_USER},
        **wa_config(fakewa, max_sessions=USERS, max_concurrent_starts=USERS, heartbeat_interval=5.0, heartbeat_timeout=15.0,
                    send_rate={"per_minute": 6000, "burst": 100, "jitter_seconds": 0}),
    )
    server = ServerProcess(config, cwd=tmp_path, log=tmp_path / "server.log")
    sockets: list[Counting] = []
    readers: list[asyncio.Task] = []
    try:
        await server.start()
        users = []
        for n in range(USERS):
            response = await server.client.post("/api/auth/register", json={"username": f"load{n}", "password": "correct horse battery"})
            assert response.status_code == 201, response.text
            users.append((response.json()["token"], response.json()["user"]["id"], f"7999000091{n}"))
        await asyncio.gather(*(link(server, fakewa, token, uid, phone, f"Load {uid}") for token, uid, phone in users))

        for token, uid, _ in users:
            for _ in range(SOCKETS_PER_USER):
                client = Counting(uid, await websocket_connect(f"{server.ws_url}?token={token}"))
                sockets.append(client)
                readers.append(asyncio.create_task(client.read()))
        await asyncio.sleep(0.5)
        assert all(s.types["hello"] == 1 for s in sockets)

        expected: dict[int, set[str]] = {uid: set() for _, uid, _ in users}
        errors: list[str] = []
        requests = Counter()
        rss: list[tuple[float, int]] = []
        start = time.monotonic()
        end = start + DURATION

        async def every(period: float, action: Any) -> None:
            """``action(n)`` at a fixed rate; a slow answer does not delay the next request."""
            n, running = 0, []
            while True:
                at = start + n * period
                if at >= end:
                    break
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                running.append(asyncio.create_task(action(n)))
                n += 1
            await asyncio.gather(*running)

        def recorded(what: str, action: Any) -> Any:
            """A failed request is an error of the run (named), not a traceback that ends it."""
            async def run(n: int) -> None:
                try:
                    await action(n)
                except httpx.HTTPError as exc:
                    errors.append(f"{what} #{n}: {type(exc).__name__}: {exc}")
            return run

        def incoming(token: str, uid: int, phone: str) -> Any:
            async def action(n: int) -> None:
                msg = await fakewa.incoming(phone, SENDERS[n % len(SENDERS)], f"load in {uid}/{n}")
                expected[uid].add(msg["id"]["_serialized"])
            return recorded(f"simulator incoming to user {uid}", action)

        def sending(token: str, uid: int, phone: str) -> Any:
            async def action(n: int) -> None:
                response = await server.client.post(
                    f"/api/whatsapp/send/{uid}", headers=bearer(token), json={"to": SENDERS[n % len(SENDERS)], "message": f"load out {uid}/{n}"}
                )
                requests["send"] += 1
                if response.status_code != 201:
                    errors.append(f"send: {response.status_code} {response.text[:200]}")
                else:
                    expected[uid].add(response.json()["id"])
            return recorded(f"REST send of user {uid}", action)

        def rest(token: str) -> Any:
            async def action(n: int) -> None:
                path, headers = ("/api/products?limit=50", {}) if n % 2 else ("/api/user/profile", bearer(token))
                response = await server.client.get(path, headers=headers)
                requests[path] += 1
                if response.status_code != 200:
                    errors.append(f"GET {path}: {response.status_code} {response.text[:200]}")
            return recorded(f"REST task GET #{n}", action)

        async def sample(n: int) -> None:
            rss.append((time.monotonic() - start, server.rss_bytes()))

        tasks = [every(INCOMING_EVERY, incoming(*u)) for u in users]
        tasks += [every(SEND_EVERY, sending(*u)) for u in users]
        tasks += [every(REST_EVERY, rest(users[i % USERS][0])) for i in range(REST_TASKS)]
        tasks.append(every(RSS_EVERY, sample))
        await asyncio.wait_for(asyncio.gather(*tasks), DURATION + 30)
        elapsed = time.monotonic() - start

        # Everything sent arrives; then a ping on every socket proves nothing more is on its way.
        deadline = time.monotonic() + 30
        while not all(expected[s.user] <= set(s.messages) for s in sockets):
            assert time.monotonic() < deadline, "some events never reached some sockets"
            await asyncio.sleep(0.2)
        for i, s in enumerate(sockets):
            s.conn.write_message(json.dumps({"type": "ping", "ref": f"end{i}"}))
        deadline = time.monotonic() + 30
        while not all(f"end{i}" in s.replies for i, s in enumerate(sockets)):
            assert time.monotonic() < deadline, "some sockets never answered the last ping"
            await asyncio.sleep(0.1)
        drained = time.monotonic() - start

        frames = sum(sum(s.types.values()) for s in sockets)
        messages_total = sum(len(v) for v in expected.values())
        served = sum(requests.values())
        warm = [r for t, r in rss if t >= WARM_UP * DURATION]
        last_third = warm[len(warm) * 2 // 3:]
        print(
            f"\nload: {len(sockets)} sockets, {USERS} sessions, {elapsed:.1f}s"
            f"\n  REST: {served} requests, {served / elapsed:.1f}/s ({dict(requests)}), errors {len(errors)}"
            f"\n  WhatsApp messages: {messages_total} ({messages_total / elapsed:.1f}/s), each to {SOCKETS_PER_USER} sockets"
            f"\n  websocket frames received: {frames} ({frames / drained:.0f}/s), by type {dict(sum((s.types for s in sockets), Counter()))}"
            f"\n  server RSS MB (t s): {', '.join(f'{r / 2**20:.1f}@{t:.0f}' for t, r in rss)}"
        )

        assert not errors, f"{len(errors)} errors: {errors[:5]}\nserver log tail:\n{server.log_text()[-3000:]}"
        assert not [s for s in sockets if s.closed], "a socket was closed under load"
        assert messages_total >= USERS * (DURATION / INCOMING_EVERY + DURATION / SEND_EVERY) * 0.95
        for s in sockets:
            wrong = {k: v for k, v in s.messages.items() if v != 1 or k not in expected[s.user]}
            assert not wrong, f"a socket of user {s.user} got duplicates or another user's messages: {list(wrong.items())[:3]}"
            assert set(s.messages) == expected[s.user]
        assert len(warm) >= 6 and max(last_third) <= warm[0] * RSS_GROWTH, (
            f"RSS grew after warm-up: first {warm[0] / 2**20:.1f} MB, last third up to {max(last_third) / 2**20:.1f} MB"
        )
    finally:
        for s in sockets:
            s.conn.close()
        for task in readers:
            task.cancel()
        await server.stop()
        for profile in (data / "sessions").glob("*"):
            kill_profile(profile)

"""Helpers for tests that drive WhatsApp sessions through the server's REST API."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.server import bearer


def wa_config(fakewa: Any, **overrides: Any) -> dict[str, Any]:
    """Server settings pointing the sessions at the simulator, with fast timings."""
    cfg = {
        "url": fakewa.url,
        "heartbeat_interval": 1.0,
        "heartbeat_timeout": 3.0,
        "restart_backoff_initial": 0.2,
        "restart_backoff_max": 1.0,
        "ready_timeout": 20.0,
        "max_sessions": 5,
        "send_rate": {"per_minute": 6000, "burst": 100, "jitter_seconds": 0},
    }
    cfg.update(overrides)
    return {"whatsapp": cfg}


async def status(server: Any, token: str, user_id: int) -> dict[str, Any]:
    response = await server.client.get(f"/api/whatsapp/status/{user_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def wait_state(server: Any, token: str, user_id: int, *states: str, timeout: float = 40, seen: list | None = None) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await status(server, token, user_id)
        if seen is not None and (not seen or seen[-1] != last["state"]):
            seen.append(last["state"])
        if last["state"] in states:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"session of user {user_id} never reached {states}; last status {last}")


async def wait_for(predicate: Any, timeout: float = 30, interval: float = 0.05, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


async def link(server: Any, fakewa: Any, token: str, user_id: int, phone: str, pushname: str) -> dict:
    """Start a session, scan its QR through the simulator, wait until CONNECTED."""
    response = await server.client.post(f"/api/whatsapp/start/{user_id}", headers=bearer(token))
    assert response.status_code == 202, response.text
    assert response.json()["state"] in ("STARTING", "QR", "CONNECTED")
    await fakewa.scan(await shown_qr(server, token, user_id), phone, pushname)
    return await wait_state(server, token, user_id, "CONNECTED")


async def shown_qr(server: Any, token: str, user_id: int, timeout: float = 40) -> str:
    """The QR the session shows, once it shows one (in state QR the page may still be fetching
    the next one, after a logout for instance: the route then answers 409)."""
    async def qr() -> str | None:
        response = await server.client.get(f"/api/whatsapp/qr/{user_id}", headers=bearer(token))
        return response.json()["qr"] if response.status_code == 200 else None

    return await wait_for(qr, timeout=timeout, interval=0.1, message="a QR code showing")


async def messages(server: Any, token: str, user_id: int, chat_id: str) -> list[dict]:
    response = await server.client.get(f"/api/whatsapp/chats/{user_id}/{chat_id}/messages", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def chromium_pids() -> set[int]:
    """Every running Chromium process on this machine (read from /proc)."""
    import os

    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmd = handle.read().split(b"\0")[0]
        except OSError:
            continue
        if cmd.endswith(b"chromium") or b"/chromium/chromium" in cmd or cmd.endswith(b"chrome"):
            pids.add(int(entry))
    return pids

"""WhatsApp Web clients: one headless Chromium per session, driven through ``bridge.js``.

A library with a Python API and events, usable without the server::

    manager = SessionManager(ManagerSettings(profiles_dir=Path("data/sessions")))
    manager.add_listener(lambda key, event, data: print(key, event, data))
    await manager.start("42")          # STARTING; then 'qr', 'state' CONNECTED, 'sync' events
    await manager.send_text("42", "79991234567@c.us", "hello")
    await manager.close()

Imports nothing of the server or its plugins.
"""
from __future__ import annotations

from .base import (
    BrowserNotFound,
    ManagerSettings,
    NotConnected,
    SessionError,
    SessionLimitReached,
    SessionState,
)
from .browser import find_chromium
from .manager import SessionManager, chat_id_of

__all__ = [
    "BrowserNotFound",
    "ManagerSettings",
    "NotConnected",
    "SessionError",
    "SessionLimitReached",
    "SessionManager",
    "SessionState",
    "chat_id_of",
    "find_chromium",
]

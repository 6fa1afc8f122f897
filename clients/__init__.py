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

import os

# Before anything imports pyppeteer: never let it download a browser of its own.
os.environ["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"

from .base import (  # noqa: E402
    BrowserNotFound,
    ManagerSettings,
    NotConnected,
    SessionError,
    SessionLimitReached,
    SessionState,
)
from .browser import find_chromium  # noqa: E402
from .manager import SessionManager, chat_id_of  # noqa: E402

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

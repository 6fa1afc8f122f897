"""What the session and the manager share: states, errors and settings."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from .browser import BrowserNotFound

__all__ = [
    "SessionState", "SessionError", "SessionLimitReached", "NotConnected", "BrowserNotFound",
    "ManagerSettings", "LIVE_STATES",
]


class SessionState(str, enum.Enum):
    STOPPED = "STOPPED"
    STARTING = "STARTING"
    QR = "QR"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


# States that hold (or are about to hold) a running browser: start() on them is a no-op.
LIVE_STATES = frozenset({SessionState.STARTING, SessionState.QR, SessionState.CONNECTED, SessionState.DISCONNECTED})


class SessionError(Exception):
    """A session could not do what was asked."""


class SessionLimitReached(SessionError):
    """``max_sessions`` sessions are live already."""


class NotConnected(SessionError):
    """Sending or listing needs a CONNECTED session."""


@dataclass
class ManagerSettings:
    profiles_dir: Path
    url: str = "https://web.whatsapp.com/"
    chromium: str | None = None
    max_sessions: int = 20
    max_concurrent_starts: int = 2
    idle_timeout: float | None = None
    ready_timeout: float = 30.0
    heartbeat_interval: float = 15.0
    heartbeat_timeout: float = 10.0
    restart_backoff: tuple[float, float] = (1.0, 60.0)
    max_restarts: int = 5
    headless: bool = True
    user_agent: str | None = None
    extra_args: tuple[str, ...] = ()
    sync_messages_per_chat: int = 50
    # Additions to the first contract:
    qr_refreshes: int = 5
    """Times an unscanned page that went UNPAIRED_IDLE gets a new QR (Cmd.refreshQR()); after
    that the session stops itself (state STOPPED, error says why) instead of holding a browser."""
    stable_after: float = 60.0
    """Seconds CONNECTED after which the automatic-restart counter starts again from zero."""
    call_timeout: float = 30.0
    """Seconds a bridge call (send, chats, messages) may take before it raises SessionError."""
    close_grace: float = 5.0
    """Seconds Chromium gets to quit (and flush its storage) before its process group is killed."""

    def __post_init__(self) -> None:
        self.profiles_dir = Path(self.profiles_dir)
        self.restart_backoff = (float(self.restart_backoff[0]), float(self.restart_backoff[1]))
        self.extra_args = tuple(self.extra_args)
        if self.max_sessions < 1 or self.max_concurrent_starts < 1:
            raise ValueError("max_sessions and max_concurrent_starts must be at least 1")

"""What the session and the manager share: states, errors and settings."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from .browser import BrowserNotFound

__all__ = [
    "SessionState", "SessionError", "SessionLimitReached", "NotConnected", "BrowserNotFound",
    "IllegalTransition", "ManagerSettings", "LIVE_STATES", "TRANSITIONS", "check_transition",
    "MessageNotFound", "ActionRefused", "MediaExpired", "MediaError", "MediaTooLarge", "ChatNotFound",
    "SendRefused", "PairingUnavailable",
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


_S = SessionState

# Every state a session may move to from each state; staying in a state (its fields changing) is
# always allowed. Where each move comes from:
#   STOPPED → STARTING            start; restart (after its stop)
#   STARTING → QR | CONNECTED     the page shows a QR, or connects with the kept login
#   QR → CONNECTED                the QR was scanned
#   CONNECTED → DISCONNECTED      WhatsApp reconnects by itself (TIMEOUT, OPENING...) ...
#   DISCONNECTED → CONNECTED      ... and is back
#   CONNECTED | DISCONNECTED → QR logged out from the phone, or the page went UNPAIRED(_IDLE)
#   any but STOPPED → FAILED      the browser crashed or hung, the page failed, TOS_BLOCK, a
#                                 CONFLICT that keeps coming back (FAILED → FAILED: an automatic
#                                 restart that could not start)
#   FAILED → STARTING             an automatic restart, or a start by hand
#   any → STOPPED                 stop, restart, logout, the idle timeout, not linked within
#                                 link_timeout, closing the manager
TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    _S.STOPPED: frozenset({_S.STARTING}),
    _S.STARTING: frozenset({_S.QR, _S.CONNECTED, _S.FAILED, _S.STOPPED}),
    _S.QR: frozenset({_S.CONNECTED, _S.FAILED, _S.STOPPED}),
    _S.CONNECTED: frozenset({_S.DISCONNECTED, _S.QR, _S.FAILED, _S.STOPPED}),
    _S.DISCONNECTED: frozenset({_S.CONNECTED, _S.QR, _S.FAILED, _S.STOPPED}),
    _S.FAILED: frozenset({_S.STARTING, _S.STOPPED}),
}


class SessionError(Exception):
    """A session could not do what was asked."""


class IllegalTransition(SessionError):
    """A state change that ``TRANSITIONS`` does not allow: a bug in the caller, not the page."""

    def __init__(self, key: str, old: SessionState, new: SessionState) -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "none"
        super().__init__(f"session {key}: no transition from {old.value} to {new.value} (from {old.value}: {allowed})")
        self.key, self.old, self.new = key, old, new


def check_transition(key: str, old: SessionState, new: SessionState) -> None:
    """Raise ``IllegalTransition`` unless session ``key`` may move from ``old`` to ``new``."""
    if new is not old and new not in TRANSITIONS[old]:
        raise IllegalTransition(key, old, new)


class SessionLimitReached(SessionError):
    """``max_sessions`` sessions are live already."""


class NotConnected(SessionError):
    """Sending or listing needs a CONNECTED session."""


class MessageNotFound(SessionError):
    """The page does not know that message id (nor can load it)."""


class ActionRefused(SessionError):
    """WhatsApp refuses the action (edit window passed, not our message, cannot reply to it...);
    the message says why, fit for a user."""


class MediaExpired(SessionError):
    """WhatsApp no longer has the file (the page shows REUPLOADING, or the CDN answers 404)."""


class MediaError(SessionError):
    """The media could not be prepared, uploaded or downloaded."""


class MediaTooLarge(SessionError):
    """``download_media``: the file is larger than ``max_bytes`` (nothing is left at ``dest``)."""


class ChatNotFound(SessionError):
    """The page has no such chat, or this account is not in that group."""


class PairingUnavailable(SessionError):
    """``request_pairing_code``: the session shows no QR code (not started, starting, or linked)."""


class SendRefused(SessionError):
    """WhatsApp refused a send: ``reason`` is ``"reachout_timelock"`` (the account may not write to
    new contacts for now), an error code such as ``"463"``, or ``"refused"``; ``until`` is when the
    restriction ends (unix seconds) when WhatsApp says."""

    def __init__(self, message: str, reason: str = "refused", until: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.until = until


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
    link_timeout: float | None = 600.0
    """Seconds a session may stay unlinked (a QR or a pairing code showing) before it stops itself
    (STOPPED, ``error`` "not linked within N s"), freeing its place; until then an expired QR is
    renewed (Cmd.refreshQR()) whenever the page asks. None: never."""
    pairing_code_ttl: float = 195.0
    """Seconds WhatsApp keeps a pairing code (3.25 minutes): what ``expiresAt`` is computed from.
    The page itself says when a code is up and the session asks for the next one."""
    stable_after: float = 60.0
    """Seconds CONNECTED after which the automatic-restart counter starts again from zero."""
    call_timeout: float = 30.0
    """Seconds a bridge call (send, chats, messages) may take before it raises SessionError."""
    media_timeout: float = 300.0
    """Seconds sending a file (prepare and upload, after its chunks are in the page) or opening
    one for download (the page fetches it whole) may take before it raises SessionError."""
    media_buffer_bytes: int = 256 * 1024 * 1024
    """Bytes of files one page holds at once for uploads and downloads in progress; a transfer
    past it raises MediaError. Each transfer is freed when it ends, fails, or sits unused for a minute."""
    close_grace: float = 5.0
    """Seconds Chromium gets to quit (and flush its storage) before its process group is killed."""

    def __post_init__(self) -> None:
        self.profiles_dir = Path(self.profiles_dir)
        self.restart_backoff = (float(self.restart_backoff[0]), float(self.restart_backoff[1]))
        self.extra_args = tuple(self.extra_args)
        if self.max_sessions < 1 or self.max_concurrent_starts < 1:
            raise ValueError("max_sessions and max_concurrent_starts must be at least 1")
        if self.link_timeout is not None and not self.link_timeout > 0:
            raise ValueError("link_timeout must be a number of seconds above 0, or None")
        remote = [a for a in self.extra_args if a.startswith("--remote-debugging-")]
        if remote:  # a DevTools port would let any local process into the WhatsApp page
            raise ValueError(f"extra_args may not set {', '.join(remote)}: sessions are driven over a private pipe")

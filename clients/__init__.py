"""WhatsApp Web clients: one headless Chromium per session, driven through ``bridge.js``.

A library with a Python API and events, usable without the server (it imports nothing of ours)::

    manager = SessionManager(ManagerSettings(profiles_dir=Path("data/sessions")))
    manager.add_listener(lambda key, event, data: print(key, event, data))
    await manager.start("42")          # STARTING at once; 'qr', then 'state' CONNECTED, 'sync'
    await manager.request_pairing_code("42", "79991234567")   # or link with a code: 'code' events
    await manager.send_text("42", "79991234567@c.us", "hello")
    await manager.send_media("42", "79991234567@c.us", Path("a.pdf"), mimetype="application/pdf", kind="document")
    await manager.close()

States: STOPPED → STARTING → QR → CONNECTED; CONNECTED ⇄ DISCONNECTED while WhatsApp reconnects
by itself; a live state → FAILED (error set) with automatic restarts (back-off doubling from
``restart_backoff[0]`` up to ``restart_backoff[1]``, at most ``max_restarts`` in a row; the count
starts again after ``stable_after`` seconds CONNECTED or a start by hand). TOS_BLOCK and
SMB_TOS_BLOCK, and a CONFLICT that keeps coming back (3 takeovers within a minute), are FAILED
without restart. A session's profile is ``profiles_dir / key``: stop and start keep the login.
Its browser is driven over a DevTools pipe, never a port, and keeps its files private (a profile
folder of mode 0700, umask 077).

Every state change is checked against ``TRANSITIONS`` (clients/base.py); any other raises
``IllegalTransition`` and changes nothing. Staying in a state (its fields changing) is allowed:

============  ==========================================  =========================================
from          to                                          when
============  ==========================================  =========================================
STOPPED       STARTING                                    start, restart (a restart is stop, start)
STARTING      QR, CONNECTED, FAILED, STOPPED              a QR; the kept login; a failure; stop
QR            CONNECTED, FAILED, STOPPED                  linked; a failure; stop, link_timeout
CONNECTED     DISCONNECTED, QR, FAILED, STOPPED           reconnecting; logged out from the phone;
                                                          a failure; stop, logout, idle timeout
DISCONNECTED  CONNECTED, QR, FAILED, STOPPED              reconnected; logged out; a failure; stop
FAILED        STARTING, STOPPED                           automatic restart or start; stop, logout
============  ==========================================  =========================================

Events, ``listener(key, event, data)`` (a plain function or a coroutine function; called in
order per session; an exception is logged and changes nothing):

- ``state``: the status dict (``state, phone, lid, pushname, since, error, qr, lastActivity,
  limits``), on every change of state, phone, LID, pushname, limits or error. ``lid`` is the own
  LID (``...@lid``) when the page knows LIDs, else None; ``limits`` is ``{"reachoutTimelock":
  {"active", "until"}}`` while CONNECTED (None before the page says): while the timelock is on,
  WhatsApp refuses first messages to new contacts.
- ``qr``: ``{"qr": payload}`` on every new QR ref. The state QR always has its payload in the
  status (a state event of QR comes with it, except after UNPAIRED_IDLE or a logout from the
  phone, when the payload is None until the next ``qr``). When the page goes UNPAIRED_IDLE the
  session calls ``Cmd.refreshQR()``. A session that stays in QR ``link_timeout`` seconds (600;
  None: never) stops itself: STOPPED with ``error`` "not linked within N s ...".
- ``code``: ``{"code": "ABCD-EFGH", "expiresAt"}`` for every pairing code (``request_pairing_code``,
  then each one WhatsApp Web renews when the last one's time is up: five times);
  ``code_expired``: ``{}`` after that (ask again); ``code_error``: ``{"message"}`` when no code came.
- ``lid``: ``{"pairs": [{"lid": "...@lid", "phone": "...@c.us"}]}``: LID mappings the page knows,
  all of them right before ``sync`` (on a page that knows LIDs), then the new ones.
- ``sync``: ``{"chats", "messages"}`` once per page load, when the page has synced: every chat,
  and the last ``sync_messages_per_chat`` messages of each (also when the page had synced
  before the bridge was injected).
- ``message``: a message dict for every message added to the page: new ones in and out
  (``isNewMsg``), and after the sync any other (a late one brought by a reconnection's re-sync).
  A message that lands before its keys has ``type`` "ciphertext" and an empty body; it is reported
  again, with the same ``id``, once decrypted. The server should upsert by ``id``: a message may
  be in ``sync`` and in ``message``, and reported twice.
- ``ack``: ``{"id", "chatId", "ack"}`` when a message's ack changes (rises 1, 2, 3).
- ``chat``: a chat dict whose list row changed (new chat, unread count, time), after the sync.
- ``reaction``: ``{"msgId", "chatId", "sender", "emoji", "timestamp", "fromMe"}`` for every reaction
  that lands in the page, ours (from any device) and others'; ``emoji`` "" means the sender took
  theirs back. Those the sync brings follow the ``sync`` event.
- ``edit``: ``{"id", "chatId", "body", "caption", "timestamp"}`` when a message's text or caption
  was edited (ours included).
- ``revoke``: ``{"id", "chatId"}`` when a message was deleted for everyone (ours included, from
  any device).

A message dict has ``id`` (``true_<chat>_<id>``, ``false_...``; ``_<participant>`` added in
groups: always a string of that shape, whatever the page's keys look like), ``chatId, from, to,
body, type, fromMe, ack, timestamp`` (unix seconds),
and ``author`` (groups), ``caption`` (media), ``quotedId`` and ``quoted`` ``{id, body, type,
fromMe, from}`` (a reply; ``body`` is the quoted text or caption), ``media`` ``{mimetype,
filename, size, duration, width, height, thumbnail}`` (``thumbnail`` a small base64 JPEG for
images and videos), ``location`` ``{latitude, longitude, name, address}``, ``edited`` and
``revoked``: None or False when they do not apply. ``body`` is "" for media, locations and
revoked messages. Media secrets (``mediaKey``, ``directPath``) never leave the page.

Messaging calls (all need a CONNECTED session, else ``NotConnected``): ``send_text`` (with
``quoted_id``), ``send_media``, ``send_location``, ``react``, ``edit``, ``revoke``, ``mark_read``,
``download_media``. Their refusals: ``MessageNotFound`` (an id the page does not know),
``ActionRefused`` (WhatsApp does not allow it: not our message, edit window passed...; the
message is fit for a user), ``MediaExpired``, ``MediaError``, ``MediaTooLarge`` (past
``max_bytes``), ``ChatNotFound`` (a group this account is not in), ``SendRefused`` (WhatsApp
refused a first message: ``.reason`` "reachout_timelock", "463"...; ``.until``), all
``SessionError``. A chat id may be a phone number, ``...@c.us``, ``...@lid`` or ``...@g.us``; a
phone number reaches the chat the phone sees (its LID chat when the person is known by LID), and
the returned message's ``chatId`` is the id the page used.

People and groups (CONNECTED): ``contacts``, ``check_number``, ``profile_picture``, ``groups``,
``group_info``, ``create_group``, ``group_participants`` (WhatsApp's code per person: 200, 403,
404, 409...). Linking with a code: ``request_pairing_code`` (a session showing a QR, else
``PairingUnavailable``). See docs/driver.md for their payloads. Files cross the DevTools pipe in chunks of 256 KiB at most
(``clients/media.py``), and a download is written to disk as it comes.

The idle timeout stops a CONNECTED session whose last activity (``touch``, an API call, a message
in or out) and last state change are older than ``idle_timeout``: an ordinary stop (STOPPED, login
kept). ``logout`` logs out in the page when it is CONNECTED (so WhatsApp unlinks the device) and
deletes the profile; a stopped session's profile is simply deleted.
"""
from __future__ import annotations

import os

# Before anything imports pyppeteer: never let it download a browser of its own.
os.environ["PYPPETEER_SKIP_CHROMIUM_DOWNLOAD"] = "1"

from .base import (  # noqa: E402
    TRANSITIONS,
    ActionRefused,
    BrowserNotFound,
    ChatNotFound,
    IllegalTransition,
    ManagerSettings,
    MediaError,
    MediaExpired,
    MediaTooLarge,
    MessageNotFound,
    NotConnected,
    PairingUnavailable,
    SendRefused,
    SessionError,
    SessionLimitReached,
    SessionState,
)
from .browser import find_chromium  # noqa: E402
from .ids import InvalidChatId, chat_id_of, phone_digits  # noqa: E402
from .manager import SessionManager  # noqa: E402

__all__ = [
    "ActionRefused",
    "BrowserNotFound",
    "ChatNotFound",
    "MediaError",
    "MediaExpired",
    "MediaTooLarge",
    "MessageNotFound",
    "IllegalTransition",
    "ManagerSettings",
    "NotConnected",
    "PairingUnavailable",
    "SendRefused",
    "SessionError",
    "SessionLimitReached",
    "SessionManager",
    "SessionState",
    "TRANSITIONS",
    "InvalidChatId",
    "chat_id_of",
    "find_chromium",
    "phone_digits",
]

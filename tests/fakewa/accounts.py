"""What the network does for an account besides messages: linking a page with a pairing code
instead of a QR, the reach-out timelock WhatsApp imposes on accounts that write to too many
strangers, and profile pictures. A part of ``network.Network``.

A page offers a code for a phone (``WAWebAltDeviceLinkingApi.startAltLinkingFlow``); it is valid
``pair_code_ttl`` seconds, and only the page's newest code is. The phone typing it in
(``POST /__sim/pair``) links that page as a scan does. While a phone's timelock lasts, its first
message to a phone it never exchanged a message with is refused (code 463); its devices are told
when the timelock begins and ends.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .addressing import normalize_phone
from .errors import SimError

if TYPE_CHECKING:
    from .network import Device, Phone
    from .settings import SimSettings

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the alphabet of pairing codes


@dataclass
class Picture:
    data: bytes
    mimetype: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class PairCode:
    """A code a page offered for linking ``phone``; typed in on the phone, it links the page."""

    code: str
    phone: str
    session: Any  # the PageSession that shows it
    expires: float


class AccountActions:
    settings: "SimSettings"
    phones: "dict[str, Phone]"
    sessions: set[Any]
    pair_codes: dict[str, PairCode]
    pictures: "dict[str, Phone]"

    # provided by the rest of the network
    phone: Callable[..., "Phone"]
    number_of: Callable[..., str]
    later: Callable[..., Any]

    # -- linking by pairing code --------------------------------------------------------------
    def offer_pair_code(self, session: Any, phone: Any, code: Any) -> None:
        """A page asks for linking ``phone`` with ``code`` (WAWebAltDeviceLinkingApi); the phone
        gets a notification. The page's earlier code stops working."""
        number = normalize_phone(phone)
        if number not in self.phones:
            raise SimError(404, f"{number} is not on WhatsApp")
        text = self.clean_code(code)
        if len(text) != 8:
            raise SimError(422, "a pairing code has 8 characters")
        self.drop_pair_codes(session)
        self.pair_codes[text] = PairCode(text, number, session, time.time() + self.settings.pair_code_ttl)

    @staticmethod
    def clean_code(code: Any) -> str:
        text = str(code or "").upper().replace("-", "").replace(" ", "")
        return text if all(c in CROCKFORD for c in text) else ""

    def drop_pair_codes(self, session: Any) -> None:
        for text in [t for t, c in self.pair_codes.items() if c.session is session]:
            del self.pair_codes[text]

    def pair(self, phone: str, code: Any, pushname: str | None) -> "Device":
        """The phone types in the code a page shows: that page is linked, as by a scan."""
        found = self.pair_codes.get(self.clean_code(code))
        if found is None or found.phone != phone or time.time() > found.expires or found.session not in self.sessions:
            raise SimError(404, "no page shows this pairing code for this phone now (wrong, expired or already used)")
        del self.pair_codes[found.code]
        return found.session.begin_pairing(phone, pushname)

    # -- limits -------------------------------------------------------------------------------
    def impose_timelock(self, number: str, seconds: Any) -> dict[str, Any]:
        """WhatsApp refuses the phone's first messages to new contacts for ``seconds`` (0 lifts it)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 30 * 86400:
            raise SimError(422, "seconds must be a number from 0 to 2592000")
        phone = self.phone(number)
        phone.timelock_until = time.time() + seconds if seconds else None
        self._push_timelock(number)
        if seconds:
            until = phone.timelock_until
            self.later(seconds, lambda: phone.timelock_until == until and self._push_timelock(number))
        return self.timelock_state(number)

    def timelock_state(self, number: str) -> dict[str, Any]:
        phone = self.phones[number]
        active = phone.timelocked()
        return {"active": active, "until": int(phone.timelock_until) if active and phone.timelock_until else None}

    def _push_timelock(self, number: str) -> None:
        phone = self.phones[number]
        for device in list(phone.devices.values()):
            device.push("timelock", self.timelock_state(number))

    # -- profile pictures ---------------------------------------------------------------------
    def set_picture(self, number: str, data: bytes, mimetype: str) -> Picture:
        phone = self.phone(number)
        if phone.picture is not None:
            self.pictures.pop(phone.picture.token, None)
        phone.picture = Picture(data, mimetype)
        self.pictures[phone.picture.token] = phone
        return phone.picture

    def picture_path(self, wid: Any) -> str:
        """Where the CDN serves the picture of the phone ``wid`` names (404 without one)."""
        phone = self.phones.get(self.number_of(wid, "id"))
        if phone is None or phone.picture is None:
            raise SimError(404, "no profile picture")
        expires = int(time.time()) + 86400
        return f"/pps/t61.24694-24/{phone.picture.token}_n.jpg?oe={expires:X}"

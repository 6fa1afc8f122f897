"""Chat ids as WhatsApp writes them, and phone numbers as people type them: the one rule.

``chat_id_of`` is what the server accepts as a message's ``to``; the web app's ``chatIdFromPhone``
(plugins/webui/static/dom.js) applies the same rule in the browser, and a test holds them to the
same answers.
"""
from __future__ import annotations

import re

from .base import SessionError

CHAT_ID = re.compile(r"^(?:[0-9]{5,20}@c\.us|[0-9-]{5,64}@g\.us|[0-9]{5,20}@lid|status@broadcast)$")
PHONE = re.compile(r"^\+?[0-9 ().-]+$")  # ASCII only: the browser's rule is written the same way
MIN_DIGITS, MAX_DIGITS = 6, 15


class InvalidChatId(SessionError, ValueError):
    """Neither a chat id nor a phone number; the message is fit to show the person who typed it."""


def chat_id_of(value: str) -> str:
    """``+7 999 123-45-67``, ``(999) 123.45.67``... become ``79991234567@c.us`` (digits, country code
    first; spaces, ``-``, ``.``, parentheses and a leading ``+`` between them); a chat id
    (``...@c.us``, ``...@g.us``, ``...@lid``, ``status@broadcast``) is returned as it is."""
    text = str(value).strip()
    if "@" in text:
        if not CHAT_ID.match(text):
            raise InvalidChatId("Not a WhatsApp chat id (like 79991234567@c.us or 120363012345678@g.us).")
        return text
    return f"{phone_digits(text)}@c.us"


def phone_digits(value: str) -> str:
    """``+7 999 123-45-67`` or ``79991234567@c.us`` → ``79991234567``: a phone number's digits,
    country code first (the rule of ``chat_id_of``)."""
    text = str(value).strip().removesuffix("@c.us")
    if not PHONE.match(text):
        raise InvalidChatId("A phone number has digits, an optional leading '+', spaces, '-', '.' and parentheses.")
    digits = re.sub(r"[^0-9]", "", text)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidChatId(f"A phone number has {MIN_DIGITS} to {MAX_DIGITS} digits, country code first.")
    return digits

"""Phone numbers and chat ids as WhatsApp writes them."""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone

_CHAT_ID = re.compile(r"^(?:\d{5,20}@c\.us|[0-9-]{5,64}@g\.us|\d{5,20}@lid|status@broadcast)$")
_PHONE = re.compile(r"^\+?[0-9 ]+$")
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second ISO 8601 can write


def normalise_chat_id(value: str) -> str:
    """``+7 999 123-45-67``-style numbers become ``79991234567@c.us``; chat ids pass unchanged.

    Raises ValueError with a message fit for the client.
    """
    value = value.strip()
    if "@" in value:
        if not _CHAT_ID.match(value):
            raise ValueError("Not a WhatsApp chat id (like 79991234567@c.us or 1203630@g.us).")
        return value
    if not _PHONE.match(value):
        raise ValueError("A phone number has digits, an optional leading '+' and spaces only.")
    digits = value.replace(" ", "").lstrip("+")
    if not 6 <= len(digits) <= 15:
        raise ValueError("A phone number has 6 to 15 digits, country code first.")
    return f"{digits}@c.us"


def parse_before(value: str | None) -> int | None:
    """``?before=`` as unix seconds: ISO 8601 (``2026-11-28T10:15:00Z``) or a number."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or not 0 <= number <= MAX_TIMESTAMP:
            raise ValueError(f"Unix seconds run from 0 to {MAX_TIMESTAMP}.")
        return int(number)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("Use an ISO 8601 time such as 2026-11-28T10:15:00Z, or unix seconds.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())

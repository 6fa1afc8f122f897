"""Query parameters of the whatsapp routes: times. (Chat ids and phone numbers follow one rule, ``clients.chat_id_of``.)"""
from __future__ import annotations

import math
from datetime import datetime, timezone

MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second ISO 8601 can write


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

"""Office hours: per weekday, ranges of local time ``{"start": "09:00", "end": "17:30"}``.

A day without ranges is closed all day; ``"24:00"`` ends a range at midnight. A range never
crosses midnight: an evening shift into the night is two ranges, one on each day.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order


def minutes(clock: str) -> int:
    """``"HH:MM"`` as minutes since midnight (``"24:00"`` is 1440)."""
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def is_open(hours: dict[str, list[dict[str, str]]], timezone: str, now: datetime) -> bool:
    """Whether ``now`` (an aware datetime) falls in one of the ranges of its weekday, both read in
    ``timezone``."""
    local = now.astimezone(ZoneInfo(timezone))
    current = local.hour * 60 + local.minute
    day: list[dict[str, Any]] = hours.get(WEEKDAYS[local.weekday()]) or []
    return any(minutes(span["start"]) <= current < minutes(span["end"]) for span in day)

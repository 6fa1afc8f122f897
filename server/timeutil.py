"""UTC timestamps: stored as 'YYYY-MM-DD HH:MM:SS', answered as ISO 8601 with Z."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def now_db() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: Any) -> str | None:
    """A database timestamp (str from SQLite, datetime from MySQL, unix seconds) as ISO 8601 UTC."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 19 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"  # as now_db() stores it (SQLite): already UTC
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # a MySQL DATETIME, stored in UTC
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

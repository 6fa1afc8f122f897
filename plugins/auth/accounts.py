"""Creating accounts: one canonical name each, and no name that looks like a taken one."""
from __future__ import annotations

from server.db import IntegrityError, Queries
from server.errors import Conflict
from server.timeutil import now_db

from plugins.auth import usernames

TAKEN = "That username, or one that looks like it, is taken."


async def create_user(
    db: Queries, username: str, password_hash: str, *, full_name: str = "", email: str = "", role: str = "user"
) -> int:
    """Insert a user whose ``username`` is already canonical and valid; return its id.

    Conflict when the name or its skeleton is taken. Two registrations of lookalike names at
    the same moment may both pass the skeleton check (it is a cheap guard, not a constraint);
    the same name twice never does (the unique key).
    """
    skeleton = usernames.skeleton(username)
    if await db.fetch_value("SELECT COUNT(*) FROM users WHERE username_skeleton = ?", (skeleton,)):
        raise Conflict(TAKEN, fields={"username": [TAKEN]})
    now = now_db()
    try:
        result = await db.execute(
            "INSERT INTO users (username, username_skeleton, password_hash, full_name, email, role, points,"
            " token_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
            (username, skeleton, password_hash, full_name, email, role, now, now),
        )
    except IntegrityError:
        raise Conflict(TAKEN, fields={"username": [TAKEN]}) from None
    return int(result.lastrowid)

"""The webhook_endpoints and webhook_deliveries tables.

Deliveries are an outbox: :func:`enqueue` writes them in the transaction that stores their event,
:func:`claim` hands due ones to a worker under a lease, and the ``record_*`` functions write how
an attempt went, each only while the worker still holds the row's lease (``lease_token``), so a
worker whose lease ran out (and whose row another worker took) changes nothing.
"""
from __future__ import annotations

import json
import time
from typing import Any

from server.db import Queries
from server.errors import Conflict, NotFound
from server.timeutil import now_db

ENDPOINT_COLUMNS = ("id, user_id, url, description, event_types, active, disabled_reason, consecutive_failures, "
                    "created_at, updated_at")
DELIVERY_COLUMNS = ("id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, lease_until, "
                    "last_attempt_at, last_status_code, last_latency_ms, last_error, created_at, finished_at")
ERROR_LENGTH = 500  # the last_error column
PRUNE_BATCH = 500

# The due deliveries a worker may take: pending, due, not leased (or the lease ran out), of an
# active endpoint, and the first pending one of their endpoint and order key.
_DUE = """
SELECT d.id FROM webhook_deliveries d
WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
  AND d.endpoint_id IN (SELECT e.id FROM webhook_endpoints e WHERE e.active = 1)
  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                  WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.status = 'pending'
                    AND p.id < d.id)
ORDER BY d.next_attempt_at, d.id
LIMIT ?
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def _seconds(ms: Any) -> float | None:
    return None if ms is None else int(ms) / 1000


def endpoint_answer(row: dict[str, Any]) -> dict[str, Any]:
    """A row as ``WebhookSchema`` dumps it."""
    return {
        "id": int(row["id"]),
        "user_id": int(row["user_id"]),
        "url": row["url"],
        "events": json.loads(row["event_types"]),
        "description": row["description"],
        "active": bool(row["active"]),
        "disabled_reason": row["disabled_reason"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def delivery_answer(row: dict[str, Any]) -> dict[str, Any]:
    """A row as ``WebhookDeliverySchema`` dumps it."""
    status = row["status"]
    return {
        "id": int(row["id"]),
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "status": status,
        "attempts": int(row["attempts"]),
        "last_status_code": row["last_status_code"],
        "latency_ms": row["last_latency_ms"],
        "last_error": row["last_error"],
        "next_attempt_at": _seconds(row["next_attempt_at"]) if status == "pending" else None,
        "last_attempt_at": _seconds(row["last_attempt_at"]),
        "created_at": _seconds(row["created_at"]),
        "delivered_at": _seconds(row["finished_at"]) if status == "delivered" else None,
    }


# -- endpoints -------------------------------------------------------------------------------------
async def get_endpoint(db: Queries, endpoint_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?", (endpoint_id,))


async def list_endpoints(db: Queries, user_id: int | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A user's endpoints (every user's for None), newest first, and how many there are."""
    where, params = ("WHERE user_id = ?", (user_id,)) if user_id is not None else ("", ())
    total = await db.fetch_value(f"SELECT COUNT(*) AS n FROM webhook_endpoints {where}", params)
    rows = await db.fetch_all(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return rows, int(total)


async def create_endpoint(
    db: Any, user_id: int, *, url: str, events: list[str], description: str, active: bool, secret_sealed: str,
    max_per_user: int,
) -> dict[str, Any]:
    """Make an endpoint; Conflict when the user holds ``max_per_user`` already. The user's row is
    locked while counting (MySQL; SQLite serialises transactions), so two requests at once cannot
    both take the last place."""
    async with db.transaction() as tx:
        if await tx.fetch_one(f"SELECT id FROM users WHERE id = ?{tx.for_update}", (user_id,)) is None:
            raise NotFound("No such user.")
        held = int(await tx.fetch_value("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE user_id = ?", (user_id,)))
        if held >= max_per_user:
            raise Conflict(f"You have {held} webhook endpoints, the most allowed; delete one first.")
        now = now_db()
        result = await tx.execute(
            "INSERT INTO webhook_endpoints (user_id, url, description, event_types, active, disabled_reason,"
            " secret_sealed, consecutive_failures, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, 0, ?, ?)",
            (user_id, url, description, json.dumps(events), int(active), secret_sealed, now, now),
        )
        return await tx.fetch_one(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?", (result.lastrowid,))


async def update_endpoint(db: Any, endpoint_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Change some of ``url``, ``events``, ``description``, ``active``.

    Enabling an endpoint clears why it was disabled and its failure count, and makes what waited
    for it due now, with a fresh retry window."""
    columns = {"url": "url", "events": "event_types", "description": "description", "active": "active"}
    values = {columns[k]: (json.dumps(v) if k == "events" else int(v) if k == "active" else v) for k, v in changes.items()}
    values["updated_at"] = now_db()
    if "active" in changes:
        values["disabled_reason"] = None
        if changes["active"]:
            values["consecutive_failures"] = 0
    async with db.transaction() as tx:
        before = await tx.fetch_one("SELECT active FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        if before is None:
            return None
        if "active" in changes and bool(before["active"]) == bool(changes["active"]):
            values.pop("disabled_reason", None)  # no change of state: keep the reason it has
            values.pop("consecutive_failures", None)
        sets = ", ".join(f"{column} = ?" for column in values)
        await tx.execute(f"UPDATE webhook_endpoints SET {sets} WHERE id = ?", (*values.values(), endpoint_id))
        if changes.get("active") and not before["active"]:
            await tx.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = ?, first_attempt_at = NULL"
                " WHERE endpoint_id = ? AND status = 'pending'",
                (now_ms(), endpoint_id),
            )
        return await tx.fetch_one(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?", (endpoint_id,))


async def set_secret(db: Queries, endpoint_id: int, secret_sealed: str) -> dict[str, Any] | None:
    await db.execute("UPDATE webhook_endpoints SET secret_sealed = ?, updated_at = ? WHERE id = ?",
                     (secret_sealed, now_db(), endpoint_id))
    return await get_endpoint(db, endpoint_id)


async def delete_endpoint(db: Queries, endpoint_id: int) -> bool:
    """The endpoint and its deliveries (by foreign key)."""
    return (await db.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))).rowcount > 0


async def delete_user_endpoints(db: Queries, user_id: int) -> int:
    return (await db.execute("DELETE FROM webhook_endpoints WHERE user_id = ?", (user_id,))).rowcount


# -- the outbox ----------------------------------------------------------------------------------
async def subscriptions(q: Queries, user_id: int) -> list[tuple[int, list[str]]]:
    """(endpoint id, event types) of a user's active endpoints."""
    rows = await q.fetch_all("SELECT id, event_types FROM webhook_endpoints WHERE user_id = ? AND active = 1", (user_id,))
    return [(int(r["id"]), json.loads(r["event_types"])) for r in rows]


async def enqueue(q: Queries, endpoint_id: int, *, event_id: str, event_type: str, order_key: str, payload: str) -> None:
    """One delivery; nothing when the endpoint has this event already (the same message twice)."""
    now = now_ms()
    await q.upsert(
        "webhook_deliveries",
        {"endpoint_id": endpoint_id, "event_id": event_id, "event_type": event_type, "order_key": order_key,
         "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now},
        keys=("endpoint_id", "event_id"), update=(),
    )


# -- deliveries, as their owner sees them -------------------------------------------------------------------
async def list_deliveries(
    db: Queries, endpoint_id: int, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where, params = "WHERE endpoint_id = ?", [endpoint_id]
    if status is not None:
        where += " AND status = ?"
        params.append(status)
    total = await db.fetch_value(f"SELECT COUNT(*) AS n FROM webhook_deliveries {where}", params)
    rows = await db.fetch_all(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return rows, int(total)


async def get_delivery(db: Queries, endpoint_id: int, delivery_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ? AND endpoint_id = ?",
                              (delivery_id, endpoint_id))


async def redeliver(db: Queries, delivery_id: int) -> int | None:
    """Make a delivery pending and due now, with a fresh retry window; return when it is due, or
    None while an attempt of it is under way (its lease is held)."""
    now = now_ms()
    result = await db.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, first_attempt_at = NULL,"
        " finished_at = NULL WHERE id = ? AND (lease_until IS NULL OR lease_until <= ?)",
        (now, delivery_id, now),
    )
    return now if result.rowcount > 0 else None


# -- the workers' side ------------------------------------------------------------------------------------
async def claim(db: Any, *, limit: int, lease_ms: int, token: str) -> list[dict[str, Any]]:
    """Take up to ``limit`` due deliveries under a lease; each with its endpoint's url, sealed
    secret and user. MySQL: ``FOR UPDATE SKIP LOCKED``, so workers of several processes never
    take the same row; SQLite has one writer."""
    now = now_ms()
    async with db.transaction() as tx:
        lock = " FOR UPDATE SKIP LOCKED" if tx.dialect == "mysql" else ""
        ids = [int(r["id"]) for r in await tx.fetch_all(_DUE + lock, (now, now, limit))]
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        await tx.execute(f"UPDATE webhook_deliveries SET lease_until = ?, lease_token = ? WHERE id IN ({marks})",
                         (now + lease_ms, token, *ids))
        return await tx.fetch_all(
            "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.payload, d.attempts, d.first_attempt_at,"
            " e.url, e.secret_sealed, e.user_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            f" WHERE d.id IN ({marks}) ORDER BY d.next_attempt_at, d.id",
            ids,
        )


_ATTEMPT = ("attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?,"
            " last_status_code = ?, last_latency_ms = ?, last_error = ?, lease_until = NULL, lease_token = NULL")


def _attempt_values(started: int, code: int | None, latency_ms: int, error: str | None) -> tuple[Any, ...]:
    return started, started, code, latency_ms, error[:ERROR_LENGTH] if error else None


async def record_success(db: Any, delivery: dict[str, Any], token: str, *, started: int, code: int, latency_ms: int) -> bool:
    async with db.transaction() as tx:
        done = await tx.execute(
            f"UPDATE webhook_deliveries SET status = 'delivered', finished_at = ?, {_ATTEMPT}"
            " WHERE id = ? AND lease_token = ?",
            (now_ms(), *_attempt_values(started, code, latency_ms, None), delivery["id"], token),
        )
        if done.rowcount:
            await tx.execute("UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures <> 0",
                             (delivery["endpoint_id"],))
        return done.rowcount > 0


async def record_retry(
    db: Queries, delivery: dict[str, Any], token: str, *, started: int, code: int | None, latency_ms: int, error: str,
    next_attempt_at: int,
) -> bool:
    done = await db.execute(
        f"UPDATE webhook_deliveries SET next_attempt_at = ?, {_ATTEMPT} WHERE id = ? AND lease_token = ?",
        (next_attempt_at, *_attempt_values(started, code, latency_ms, error), delivery["id"], token),
    )
    return done.rowcount > 0


async def record_failure(
    db: Any, delivery: dict[str, Any], token: str, *, started: int, code: int | None, latency_ms: int, error: str,
    disable_after: int,
) -> tuple[bool, dict[str, Any] | None]:
    """The delivery failed for good. Returns (recorded, the endpoint when this failure disabled it:
    ``disable_after`` deliveries in a row have failed)."""
    async with db.transaction() as tx:
        done = await tx.execute(
            f"UPDATE webhook_deliveries SET status = 'failed', finished_at = ?, {_ATTEMPT} WHERE id = ? AND lease_token = ?",
            (now_ms(), *_attempt_values(started, code, latency_ms, error), delivery["id"], token),
        )
        if not done.rowcount:
            return False, None
        endpoint_id = delivery["endpoint_id"]
        await tx.execute("UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = ?",
                         (endpoint_id,))
        row = await tx.fetch_one("SELECT active, consecutive_failures FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        if row is None or not row["active"] or int(row["consecutive_failures"]) < disable_after:
            return True, None
        reason = (f"Disabled after {int(row['consecutive_failures'])} deliveries in a row failed; "
                  f"the last: {error}")[:ERROR_LENGTH]
        await tx.execute(
            "UPDATE webhook_endpoints SET active = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND active = 1",
            (reason, now_db(), endpoint_id),
        )
        return True, await tx.fetch_one(f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?", (endpoint_id,))


async def release(db: Queries, ids: list[int], token: str) -> None:
    """Give back leases of attempts that were stopped (shutdown): the rows are due again at once."""
    if ids:
        marks = ", ".join("?" for _ in ids)
        await db.execute(
            f"UPDATE webhook_deliveries SET lease_until = NULL, lease_token = NULL WHERE lease_token = ? AND id IN ({marks})",
            (token, *ids),
        )


async def queue_figures(db: Queries) -> dict[str, Any]:
    """Pending deliveries of active endpoints (and the creation time of the oldest), and of
    inactive ones (held until the endpoint is enabled)."""
    rows = await db.fetch_all(
        "SELECT e.active AS active, COUNT(*) AS n, MIN(d.created_at) AS oldest FROM webhook_deliveries d"
        " JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.status = 'pending' GROUP BY e.active"
    )
    figures = {"pending": 0, "held": 0, "oldest_ms": None}
    for row in rows:
        if row["active"]:
            figures["pending"], figures["oldest_ms"] = int(row["n"]), row["oldest"]
        else:
            figures["held"] = int(row["n"])
    return figures


async def prune(db: Queries, finished_before_ms: int) -> int:
    """Delete delivered and failed deliveries that finished before a time, a batch at a time."""
    removed = 0
    while True:
        rows = await db.fetch_all(
            "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ? ORDER BY id LIMIT ?",
            (finished_before_ms, PRUNE_BATCH),
        )
        if not rows:
            return removed
        marks = ", ".join("?" for _ in rows)
        removed += (await db.execute(f"DELETE FROM webhook_deliveries WHERE id IN ({marks})",
                                     [r["id"] for r in rows])).rowcount
        if len(rows) < PRUNE_BATCH:
            return removed

"""The orders and points_ledger tables, and users.points, which only this module changes.

The invariant: a user's ``users.points`` is the sum of their ledger rows' ``delta``. Every
change of a balance is one conditional ``UPDATE users SET points = points + ?`` (never a value
computed in Python from one read earlier) and the ledger row that says why, in one
transaction. On MySQL the UPDATE locks the user's row until the transaction ends, so two
changes of one balance queue up, and each ledger row's ``balance`` is the balance right after
it; SQLite runs one transaction at a time.

A transaction that MySQL picks as a deadlock victim changed nothing and is run again
(:func:`server.db.retry_deadlocks`).
"""
from __future__ import annotations

from typing import Any

from server.db import IntegrityError, Queries, retry_deadlocks
from server.errors import Conflict, NotFound, ValidationFailed
from server.timeutil import now_db

ORDER_COLUMNS = (
    "id, user_id, product_id, product_name, quantity, unit_price_cents, total_price_cents, points_per_unit,"
    " total_points, status, created_at, cancelled_at, cancelled_by"
)
ENTRY_COLUMNS = "id, user_id, delta, balance, kind, reason, order_id, admin_id, created_at"
MAX_BALANCE = 2**31 - 1  # users.points is a MySQL INT
MIN_BALANCE = -(2**31)


async def _move_points(tx: Queries, user_id: int, delta: int, *, floor: int) -> int:
    """Add ``delta`` (not 0) to a user's points; return the new balance.

    NotFound when the user has no row. Conflict, changing nothing, when the balance would end
    above :data:`MAX_BALANCE` or, for a negative ``delta``, below ``floor``: with ``floor`` 0
    (an adjustment) that is ``insufficient_points``, with it :data:`MIN_BALANCE` (a
    cancellation, which may leave a debt) ``points_limit``.
    """
    bound, limit = ("points + ? >= ?", floor) if delta < 0 else ("points + ? <= ?", MAX_BALANCE)
    result = await tx.execute(f"UPDATE users SET points = points + ? WHERE id = ? AND {bound}", (delta, user_id, delta, limit))
    balance = await tx.fetch_value("SELECT points FROM users WHERE id = ?", (user_id,))
    if balance is None:
        raise NotFound("No such user.")
    if result.rowcount == 0:
        if delta < 0 and floor == 0:
            raise Conflict(
                f"The user has {balance} points: taking {-delta} would leave fewer than 0.",
                code="insufficient_points", extra={"points": int(balance)},
            )
        raise Conflict(f"The balance would leave the range {MIN_BALANCE} to {MAX_BALANCE} points.", code="points_limit")
    return int(balance)


async def _write_entry(
    tx: Queries, user_id: int, delta: int, balance: int, kind: str, reason: str,
    *, order_id: int | None = None, admin_id: int | None = None,
) -> int:
    result = await tx.execute(
        "INSERT INTO points_ledger (user_id, delta, balance, kind, reason, order_id, admin_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, delta, balance, kind, reason, order_id, admin_id, now_db()),
    )
    return int(result.lastrowid)


async def get_order(db: Queries, order_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,))


async def place_order(db: Any, user_id: int, product_id: int, quantity: int) -> dict[str, Any]:
    """Write the order, with the product's name, price and points of this moment, and credit its
    points to the buyer; all or nothing. ValidationFailed for a product that does not exist."""

    async def attempt() -> dict[str, Any]:
        async with db.transaction() as tx:
            product = await tx.fetch_one("SELECT name, price_cents, points FROM products WHERE id = ?", (product_id,))
            if product is None:
                raise ValidationFailed({"productId": ["No such product."]})
            points = int(product["points"]) * quantity
            # The balance first: on MySQL its row lock comes before the shared locks the foreign
            # keys of the inserts take on it, so two orders of one user queue instead of deadlocking.
            balance = await _move_points(tx, user_id, points, floor=MIN_BALANCE) if points else None
            unit_price = int(product["price_cents"])
            try:
                result = await tx.execute(
                    "INSERT INTO orders (user_id, product_id, product_name, quantity, unit_price_cents,"
                    " total_price_cents, points_per_unit, total_points, status, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'placed', ?)",
                    (user_id, product_id, product["name"], quantity, unit_price, unit_price * quantity,
                     int(product["points"]), points, now_db()),
                )
            except IntegrityError:  # the buyer was deleted meanwhile
                raise NotFound("No such user.") from None
            order_id = int(result.lastrowid)
            if balance is not None:
                await _write_entry(tx, user_id, points, balance, "order",
                                   f"Order {order_id}: {quantity} x {product['name']}", order_id=order_id)
            return await get_order(tx, order_id)

    return await retry_deadlocks(attempt)


async def cancel_order(db: Any, order_id: int, admin_id: int) -> dict[str, Any]:
    """Cancel a placed order and take back the points it credited, exactly once.

    The conditional UPDATE decides which of two concurrent cancellations wins: on MySQL the
    second waits for the first's row lock and then matches no row. NotFound for no such order,
    Conflict ``already_cancelled`` for one cancelled before. The reversal may leave the buyer
    below 0 points (they may have been adjusted down meanwhile): it is a debt, not refused.
    """

    async def attempt() -> dict[str, Any]:
        async with db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at = ?, cancelled_by = ? WHERE id = ? AND status = 'placed'",
                (now_db(), admin_id, order_id),
            )
            order = await get_order(tx, order_id)
            if order is None:
                raise NotFound("No such order.")
            if changed.rowcount == 0:
                raise Conflict("This order is cancelled already.", code="already_cancelled")
            points = int(order["total_points"])
            if points:
                user_id = int(order["user_id"])
                balance = await _move_points(tx, user_id, -points, floor=MIN_BALANCE)
                await _write_entry(tx, user_id, -points, balance, "order_cancelled", f"Order {order_id} cancelled",
                                   order_id=order_id, admin_id=admin_id)
            return order

    return await retry_deadlocks(attempt)


async def adjust_points(db: Any, user_id: int, delta: int, reason: str, admin_id: int) -> dict[str, Any]:
    """An administrator's change of a user's points, with its reason; the new ledger row.

    A negative ``delta`` may not take the balance below 0 (Conflict ``insufficient_points``); a
    positive one is always taken, up to :data:`MAX_BALANCE`, even while the balance stays below 0.
    """

    async def attempt() -> dict[str, Any]:
        async with db.transaction() as tx:
            balance = await _move_points(tx, user_id, delta, floor=0)
            entry_id = await _write_entry(tx, user_id, delta, balance, "adjustment", reason, admin_id=admin_id)
            return await tx.fetch_one(f"SELECT {ENTRY_COLUMNS} FROM points_ledger WHERE id = ?", (entry_id,))

    return await retry_deadlocks(attempt)


async def list_orders(
    db: Queries, *, user_id: int | None, status: str | None, product_id: int | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Orders matching the filters (None: any), newest first, and how many match."""
    conditions, params = [], []
    for column, value in (("user_id", user_id), ("status", status), ("product_id", product_id)):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    total = await db.fetch_value(f"SELECT COUNT(*) AS n FROM orders{where}", params)
    rows = await db.fetch_all(
        f"SELECT {ORDER_COLUMNS} FROM orders{where} ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    return rows, int(total)


async def points_of(db: Any, user_id: int, limit: int, offset: int) -> dict[str, Any] | None:
    """A user's balance and a page of their ledger, newest first, read in one transaction (so
    the balance is the sum of the entries); None when the user does not exist."""
    async with db.transaction() as tx:
        balance = await tx.fetch_value("SELECT points FROM users WHERE id = ?", (user_id,))
        if balance is None:
            return None
        total = await tx.fetch_value("SELECT COUNT(*) AS n FROM points_ledger WHERE user_id = ?", (user_id,))
        rows = await tx.fetch_all(
            f"SELECT {ENTRY_COLUMNS} FROM points_ledger WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )
    return {"user_id": user_id, "points": int(balance), "items": rows, "total": int(total), "limit": limit,
            "offset": offset}

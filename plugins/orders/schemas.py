"""What the orders plugin accepts and answers: the order, a points ledger entry, a user's points."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from server.pagination import PageSchema
from server.schemas import Timestamp, not_blank
from server.users import MAX_ID

from plugins.catalog.schemas import Price

MAX_QUANTITY = 1000
MAX_ADJUSTMENT = 1_000_000_000  # one adjustment moves a balance by at most this many points
STATUSES = ("placed", "cancelled")
KINDS = ("order", "order_cancelled", "adjustment")
_ANY_AMOUNT = r"^[0-9]+\.[0-9]{2}$"  # a total may pass the catalog's 10 digits (1000 x its top price)


def _ids(description: str, **kwargs: object) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID, error="Must be an id from {min} to {max}."),
        metadata={"description": description}, **kwargs,
    )


class OrderSchema(Schema):
    """An order. A request sends ``productId`` and ``quantity``; everything else is the server's:
    the product's name, price and points as they were when the order was placed."""

    id = fields.Integer(dump_only=True, required=True)
    user_id = fields.Integer(data_key="userId", dump_only=True, required=True, metadata={"description": "The buyer."})
    product_id = _ids(
        "The product bought. It may have been deleted since: the order keeps its name, price and points.",
        data_key="productId", required=True, strict=True,
    )
    product_name = fields.String(
        data_key="productName", dump_only=True, required=True,
        metadata={"description": "The product's name when the order was placed."},
    )
    quantity = fields.Integer(
        strict=True, load_default=1,
        validate=validate.Range(min=1, max=MAX_QUANTITY, error="Must be a whole number from {min} to {max}."),
    )
    unit_price_cents = Price(
        data_key="unitPrice", dump_only=True, required=True,
        metadata={"description": "The product's price when the order was placed.", "pattern": _ANY_AMOUNT},
    )
    total_price_cents = Price(
        data_key="totalPrice", dump_only=True, required=True,
        metadata={"description": "unitPrice x quantity.", "pattern": _ANY_AMOUNT, "example": "37.50"},
    )
    points_per_unit = fields.Integer(
        data_key="pointsPerUnit", dump_only=True, required=True,
        metadata={"description": "The product's points when the order was placed."},
    )
    total_points = fields.Integer(
        data_key="points", dump_only=True, required=True,
        metadata={"description": "pointsPerUnit x quantity: what the order credited to the buyer."},
    )
    status = fields.String(dump_only=True, required=True, validate=validate.OneOf(STATUSES))
    created_at = Timestamp(required=True)
    cancelled_at = Timestamp(required=True, allow_none=True, metadata={"description": "null while placed."})
    cancelled_by = fields.Integer(
        data_key="cancelledBy", dump_only=True, required=True, allow_none=True,
        metadata={"description": "The administrator who cancelled it; null while placed, or once that "
                                 "administrator is deleted."},
    )


class OrderListQuerySchema(PageSchema):
    user_id = _ids("Only this user's orders. Administrators: anyone's; others: only their own id.",
                   data_key="userId", load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    product_id = _ids("Only orders of this product.", data_key="productId", load_default=None)


def not_zero(value: int) -> None:
    if value == 0:
        raise ValidationError("Must not be 0.")


class PointsEntrySchema(Schema):
    """One row of a user's points ledger. An administrator's adjustment sends ``delta`` and
    ``reason``; the server writes the other rows itself, for orders and their cancellations."""

    id = fields.Integer(dump_only=True, required=True)
    delta = fields.Integer(
        strict=True, required=True,
        validate=[
            validate.Range(min=-MAX_ADJUSTMENT, max=MAX_ADJUSTMENT, error="Must be a whole number from {min} to {max}."),
            not_zero,
        ],
        metadata={"description": "Points added (negative: taken away)."},
    )
    reason = fields.String(
        required=True, validate=[validate.Length(min=1, max=500), not_blank],
        metadata={"description": "Why: an administrator's words for an adjustment, the order for the others.",
                  "example": "Goodwill for a late delivery"},
    )
    kind = fields.String(
        dump_only=True, required=True, validate=validate.OneOf(KINDS),
        metadata={"description": "`order` (credited by an order), `order_cancelled` (taken back by its "
                                 "cancellation) or `adjustment` (by an administrator)."},
    )
    order_id = fields.Integer(data_key="orderId", dump_only=True, required=True, allow_none=True,
                              metadata={"description": "The order, for `order` and `order_cancelled`; else null."})
    admin_id = fields.Integer(
        data_key="adminId", dump_only=True, required=True, allow_none=True,
        metadata={"description": "The administrator who made the adjustment or cancelled the order; null for an "
                                 "order, or once that administrator is deleted."},
    )
    balance = fields.Integer(dump_only=True, required=True,
                             metadata={"description": "The user's points right after this entry."})
    created_at = Timestamp(required=True)


class PointsSchema(Schema):
    """A user's balance and the page of their ledger asked for, newest entry first."""

    user_id = fields.Integer(data_key="userId", dump_only=True, required=True)
    points = fields.Integer(dump_only=True, required=True,
                            metadata={"description": "The balance: the sum of every entry's delta."})
    items = fields.List(fields.Nested(PointsEntrySchema), dump_only=True, required=True)
    total = fields.Integer(dump_only=True, required=True, metadata={"description": "Entries in all pages."})
    limit = fields.Integer(dump_only=True, required=True)
    offset = fields.Integer(dump_only=True, required=True)

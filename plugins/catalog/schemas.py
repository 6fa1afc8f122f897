"""What the catalog accepts and answers: the product object and its price."""
from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, fields, validate

from server.schemas import Timestamp, http_url_or_empty, not_blank

MAX_PRICE_CENTS = 10**12 - 1  # 9,999,999,999.99: fits every integer column we use
MAX_POINTS = 2**31 - 1  # the MySQL INT column
_PRICE_TEXT = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,6})?$")
_CENT = Decimal("0.01")


class Price(fields.Field):
    """A price in cents, answered as a decimal string with two places ("19.90").

    Accepted as a JSON number or a string; refused when negative, not finite, with more
    than two decimals, or 10,000,000,000 or more.
    """

    default_error_messages = {
        "invalid": "Not a valid price: send a number or a string such as \"19.90\".",
        "decimals": "A price has at most two decimals.",
        "range": "A price is 0 or more and less than 10000000000.",
    }

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "type": "string",
            "pattern": r"^[0-9]{1,10}\.[0-9]{2}$",
            "example": "19.90",
            "description": "Two decimals, answered as a string; a JSON number or a string is accepted.",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        cents = int(value)
        return f"{cents // 100}.{cents % 100:02d}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            amount = Decimal(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise self.make_error("invalid")
            amount = Decimal(repr(value))
        elif isinstance(value, str):
            text = value.strip()
            if text.startswith("-") and _PRICE_TEXT.match(text[1:]):
                raise self.make_error("range")
            if not _PRICE_TEXT.match(text):
                raise self.make_error("invalid")
            amount = Decimal(text)
        else:
            raise self.make_error("invalid")
        try:
            if amount < 0 or amount >= Decimal(10) ** 10:
                raise self.make_error("range")
            if amount != amount.quantize(_CENT):
                raise self.make_error("decimals")
        except InvalidOperation:
            raise self.make_error("invalid") from None
        return int(amount * 100)


def _name_validators(max_length: int) -> list[Any]:
    return [validate.Length(min=1, max=max_length), not_blank]


class ProductSchema(Schema):
    """A product. ``id`` and the timestamps are read-only; unknown fields are refused.

    Answers are this schema (component ``Product``); request bodies are its load side,
    without the read-only fields (``ProductInput``, ``ProductInputPartial``: server.openapi).
    """

    id = fields.Integer(dump_only=True, required=True)
    name = fields.String(required=True, validate=_name_validators(200), metadata={"example": "Coffee mug"})
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    price_cents = Price(data_key="price", load_default=0)
    points = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0, max=MAX_POINTS, error="Must be a whole number from 0 to {max}."),
        metadata={"description": "Loyalty points a purchase earns."},
    )
    image = fields.String(
        load_default="",
        validate=[validate.Length(max=2048), http_url_or_empty],
        metadata={"description": "An http(s) URL, or empty for none.", "example": "https://example.com/mug.png"},
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


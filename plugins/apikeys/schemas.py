"""What the apikeys plugin accepts and answers: its config section and the key object."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from server.pagination import PageSchema
from server.schemas import Timestamp, not_blank
from server.timeutil import iso


class ApiKeysConfigSchema(Schema):
    max_per_user = fields.Integer(load_default=20, validate=validate.Range(min=1, max=10_000))


def in_the_future(value: datetime) -> None:
    if value <= datetime.now(timezone.utc):
        raise ValidationError("Must be in the future.")


class ExpiresAt(fields.AwareDateTime):
    """An ISO 8601 time (UTC when it names no zone) in a request, loaded in UTC; the stored UTC
    time, with ``Z``, in an answer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=timezone.utc, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the last representable time
            raise ValidationError("Out of range.") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


class ApiKeySchema(Schema):
    """An API key as lists show it: never the key itself, which only the answer that made it holds."""

    id = fields.Integer(dump_only=True, required=True)
    name = fields.String(
        required=True, validate=[validate.Length(min=1, max=100), not_blank],
        metadata={"description": "What the key is for.", "example": "nightly export"},
    )
    prefix = fields.String(
        dump_only=True, required=True,
        metadata={"description": "The key's first characters, to recognise it; not enough to use it.",
                  "example": "wmk_k3v9x2ab"},
    )
    read_only = fields.Boolean(
        data_key="readOnly", load_default=False,
        metadata={"description": "A read-only key may call GET and HEAD only, and on /ws only ping, "
                                 "chats.list and messages.list."},
    )
    created_at = Timestamp(data_key="createdAt", required=True)
    expires_at = ExpiresAt(
        data_key="expiresAt", load_default=None, allow_none=True, validate=in_the_future,
        metadata={"description": "When the key stops working (ISO 8601, in the future); null: never."},
    )
    last_used_at = Timestamp(
        data_key="lastUsedAt", required=True, allow_none=True,
        metadata={"description": "When the key last authenticated a request, to the minute; null: never."},
    )


class NewApiKeySchema(ApiKeySchema):
    key = fields.String(
        dump_only=True, required=True,
        metadata={"description": "The key itself, shown only in this answer: send it as X-Api-Key (or "
                                 "Authorization: Bearer). The server keeps only its hash."},
    )


class ApiKeyUpdateSchema(Schema):
    name = fields.String(validate=[validate.Length(min=1, max=100), not_blank])


class ApiKeyListQuerySchema(PageSchema):
    user_id = fields.Integer(
        data_key="userId", load_default=None, validate=validate.Range(min=1),
        metadata={"description": "Administrators: list this user's keys instead of their own."},
    )

"""Marshmallow pieces the core and every plugin share: timestamps, the user object, validators."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from server.timeutil import iso

ROLES = ("user", "admin")


class Timestamp(fields.String):
    """A stored UTC timestamp, answered as ISO 8601 with ``Z`` (always read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("dump_only", True)
        metadata = {"format": "date-time", "example": "2026-11-28T10:15:00Z", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return iso(value)


class UserSchema(Schema):
    """The user object of docs/api.md, as ``server.users.public_user`` answers it."""

    id = fields.Integer(dump_only=True, required=True)
    username = fields.String(dump_only=True, required=True, metadata={"example": "alice"})
    full_name = fields.String(data_key="fullName", dump_only=True, required=True)
    email = fields.String(dump_only=True, required=True)
    role = fields.String(dump_only=True, required=True, validate=validate.OneOf(ROLES))
    points = fields.Integer(dump_only=True, required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)


def not_blank(value: str) -> None:
    """Refuse a string made only of white space (use with a Length validator)."""
    if value and not value.strip():
        raise ValidationError("May not be blank.")


_HTTP_URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="Not a valid http(s) URL.")
# marshmallow compiles the URL regular expression on first use (0.3-0.6 s): pay it at import,
# not on the event loop while a request waits.
_HTTP_URL("http://example.com/")


def http_url_or_empty(value: str) -> None:
    """An ``http://`` or ``https://`` URL, or the empty string (no image)."""
    if value != "":
        _HTTP_URL(value)

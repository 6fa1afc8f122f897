"""What the auth plugin accepts: its config section and its request bodies."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from plugins.auth import usernames


class Username(fields.String):
    """A username as typed, loaded in its canonical form (see ``usernames``); refused when that
    form is not 3 to 32 of a-z, 0-9, '_', '.', '-'."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "description": "3 to 32 letters, digits, '_', '.' or '-'; stored in lower case (NFKC, casefolded, "
            "without surrounding spaces).",
            "example": "alice",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = usernames.canonical(super()._deserialize(value, attr, data, **kwargs))
        if not usernames.is_valid(name):
            raise ValidationError(usernames.RULE)
        return name


BCRYPT_MAX_BYTES = 72  # bcrypt reads no further: longer passwords are refused, not cut short


def fits_bcrypt(value: str) -> None:
    if len(value.encode("utf-8")) > BCRYPT_MAX_BYTES:
        raise ValidationError(f"Use at most {BCRYPT_MAX_BYTES} bytes in UTF-8 (fewer characters outside ASCII).")


PASSWORD = [validate.Length(min=8, max=128, error="Use 8 to 128 characters."), fits_bcrypt]
_EMAIL = validate.Email(error="Not a valid email address.")


def email_or_empty(value: str) -> None:
    if value != "":
        _EMAIL(value)
    if len(value) > 254:
        raise ValidationError("Longer than 254 characters.")


class AuthConfigSchema(Schema):
    jwt_secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=32))
    token_ttl_seconds = fields.Integer(load_default=7 * 24 * 3600, validate=validate.Range(min=60))
    bcrypt_rounds = fields.Integer(load_default=12, validate=validate.Range(min=4, max=16))
    hash_workers = fields.Integer(load_default=2, validate=validate.Range(min=1, max=64))
    login_max_failures = fields.Integer(load_default=5, validate=validate.Range(min=1))
    login_max_failures_per_address = fields.Integer(load_default=20, validate=validate.Range(min=1))
    login_max_failures_global = fields.Integer(load_default=1000, validate=validate.Range(min=1))
    login_window_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1))
    register_max_per_address = fields.Integer(load_default=30, validate=validate.Range(min=1))
    register_window_seconds = fields.Integer(load_default=3600, validate=validate.Range(min=1))
    allow_registration = fields.Boolean(load_default=True)


class RegisterSchema(Schema):
    username = Username(required=True)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    full_name = fields.String(data_key="fullName", load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default="", validate=email_or_empty)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=128))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class ProfileUpdateSchema(Schema):
    full_name = fields.String(data_key="fullName", validate=validate.Length(max=200))
    email = fields.String(validate=email_or_empty)
    password = fields.String(validate=PASSWORD, load_only=True)
    current_password = fields.String(data_key="currentPassword", validate=validate.Length(max=1024), load_only=True)

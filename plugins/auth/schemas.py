"""What the auth plugin accepts: its config section and its request bodies."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

USERNAME = validate.Regexp(
    r"^[A-Za-z0-9_.-]{3,32}$", error="Use 3 to 32 letters, digits, '_', '.' or '-'."
)
PASSWORD = validate.Length(min=8, max=128, error="Use 8 to 128 characters.")
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
    login_window_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1))
    allow_registration = fields.Boolean(load_default=True)


class RegisterSchema(Schema):
    username = fields.String(required=True, validate=USERNAME)
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

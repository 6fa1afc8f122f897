"""The metrics plugin's config section."""
from __future__ import annotations

import ipaddress
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema


def cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValidationError(f"{value!r} is not an address or network (e.g. 10.0.0.0/8, 127.0.0.1/32).") from None


class MetricsConfigSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    token = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=16))
    allow = fields.List(fields.String(validate=cidr), load_default=lambda: ["127.0.0.1/32", "::1/128"])

    @validates_schema
    def guarded(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("enabled") and not data.get("token") and not data.get("allow"):
            raise ValidationError("set metrics.token or metrics.allow (or both): /metrics would be open to anyone.")

"""What the admin plugin accepts and answers."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from server.pagination import SearchPageSchema
from server.schemas import ROLES

class UserSearchSchema(SearchPageSchema):
    """``q`` finds users whose username, fullName or email contains it."""

    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))


class RoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserCountsSchema(Schema):
    total = fields.Integer(required=True)
    admins = fields.Integer(required=True)


class ProcessStatsSchema(Schema):
    uptime_seconds = fields.Float(data_key="uptimeSeconds", required=True)
    rss_bytes = fields.Integer(data_key="rssBytes", required=True, metadata={"description": "Resident memory."})


class DatabaseStatsSchema(Schema):
    backend = fields.String(required=True, validate=validate.OneOf(["sqlite", "mysql"]))
    pool = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata={"example": {"size": 2, "free": 1, "maxsize": 10}})


class StatsSchema(Schema):
    """The server at a glance: the admin plugin's own numbers, and one key per enabled plugin that
    reports through the ``admin_stats`` hook (each plugin owns the shape of its part)."""

    class Meta:
        unknown = INCLUDE

    users = fields.Nested(UserCountsSchema, required=True)
    process = fields.Nested(ProcessStatsSchema, required=True)
    database = fields.Nested(DatabaseStatsSchema, required=True)

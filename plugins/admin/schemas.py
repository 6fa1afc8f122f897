"""What the admin plugin accepts and answers."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from server.pagination import SearchPageSchema
from server.schemas import ROLES, Timestamp

SESSION_STATES = ("STOPPED", "STARTING", "QR", "CONNECTED", "DISCONNECTED", "FAILED")


class UserSearchSchema(SearchPageSchema):
    """``q`` finds users whose username, fullName or email contains it."""

    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))


class RoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserCountsSchema(Schema):
    total = fields.Integer(required=True)
    admins = fields.Integer(required=True)


class WhatsAppStatsSchema(Schema):
    sessions = fields.Integer(required=True, metadata={"description": "Sessions that are not STOPPED."})
    by_state = fields.Dict(data_key="byState", keys=fields.String(), values=fields.Integer(), required=True)
    max_sessions = fields.Integer(data_key="maxSessions", required=True)


class WebsocketStatsSchema(Schema):
    connections = fields.Integer(required=True)


class ProcessStatsSchema(Schema):
    uptime_seconds = fields.Float(data_key="uptimeSeconds", required=True)
    rss_bytes = fields.Integer(data_key="rssBytes", required=True, metadata={"description": "Resident memory."})


class DatabaseStatsSchema(Schema):
    backend = fields.String(required=True, validate=validate.OneOf(["sqlite", "mysql"]))
    pool = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata={"example": {"size": 2, "free": 1, "maxsize": 10}})


class StatsSchema(Schema):
    """The server at a glance. Plugins may add keys of their own (admin_stats hook)."""

    class Meta:
        unknown = INCLUDE

    users = fields.Nested(UserCountsSchema, required=True)
    products = fields.Integer(required=True)
    articles = fields.Integer(required=True)
    whatsapp = fields.Nested(WhatsAppStatsSchema, required=True)
    websocket = fields.Nested(WebsocketStatsSchema, required=True)
    process = fields.Nested(ProcessStatsSchema, required=True)
    database = fields.Nested(DatabaseStatsSchema, required=True)


class WhatsAppSessionSchema(Schema):
    user_id = fields.Integer(data_key="userId", required=True)
    username = fields.String(required=True, allow_none=True)
    state = fields.String(required=True, validate=validate.OneOf(SESSION_STATES))
    phone = fields.String(allow_none=True, metadata={"example": "79991234567"})
    since = Timestamp(allow_none=True)
    last_activity = Timestamp(data_key="lastActivity", allow_none=True)

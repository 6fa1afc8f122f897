"""The ``whatsapp.cluster`` settings (docs/scaling.md). Off by default: one process
with no Redis runs its sessions itself, exactly as without this package."""
from __future__ import annotations

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)


class ClusterConfigSchema(Schema):
    enabled = fields.Boolean(load_default=False, metadata={
        "description": "Share WhatsApp sessions between server processes through Redis leases."})
    redis_url = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Redis for leases and heartbeats; null: events.redis_url."})
    prefix = fields.String(load_default="wamulti:cluster:", validate=validate.Length(min=1, max=64))
    node_id = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$"),
                            metadata={"description": "This process's name in the cluster; null: host name and a random suffix."})
    internal_url = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Where the other nodes reach this one; null: http://<server.host>:<port>."})
    lease_ttl = fields.Float(load_default=15.0, validate=validate.Range(min=1, max=600))
    renew_interval = fields.Float(load_default=3.0, validate=validate.Range(min=0.1))
    fence_margin = fields.Float(load_default=5.0, validate=validate.Range(min=0.5), metadata={
        "description": "A node that could not renew a lease closes that browser this many seconds before the lease "
                       "can expire."})
    heartbeat_interval = fields.Float(load_default=2.0, validate=validate.Range(min=0.1))
    node_ttl = fields.Float(load_default=6.0, validate=validate.Range(min=0.5), metadata={
        "description": "Seconds without a heartbeat after which a node counts as gone."})
    scan_interval = fields.Float(load_default=1.0, validate=validate.Range(min=0.1), metadata={
        "description": "How often a node looks for sessions whose owner is gone, to take them over."})
    forward_timeout = fields.Float(load_default=120.0, validate=validate.Range(min=1))
    snapshot_key = fields.String(load_default=None, allow_none=True, metadata={
        "description": "A Fernet key (Fernet.generate_key()) encrypting portable logins in the database; "
                       "null: no portable logins (a session moved to another node shows a QR)."})
    snapshot_interval = fields.Float(load_default=600.0, validate=validate.Range(min=5))
    snapshot_max_bytes = fields.Integer(load_default=20 * 1024 * 1024, validate=validate.Range(min=1024))

    @validates("snapshot_key")
    def _key(self, value: str | None, **_: object) -> None:
        if value is None:
            return
        from cryptography.fernet import Fernet

        try:
            Fernet(value.encode())
        except (ValueError, TypeError):
            raise ValidationError("Not a Fernet key (32 url-safe base64-encoded bytes).") from None

    @validates_schema
    def _timings(self, data: dict, **_: object) -> None:
        ttl, renew, margin = data["lease_ttl"], data["renew_interval"], data["fence_margin"]
        if not margin < ttl:
            raise ValidationError("fence_margin must be shorter than lease_ttl.", "fence_margin")
        if not renew * 2 <= ttl - margin:
            raise ValidationError("renew_interval must leave two renewals before fencing "
                                  "(renew_interval * 2 <= lease_ttl - fence_margin).", "renew_interval")
        if not data["heartbeat_interval"] < data["node_ttl"]:
            raise ValidationError("heartbeat_interval must be shorter than node_ttl.", "heartbeat_interval")

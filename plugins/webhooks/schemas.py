"""What the webhooks plugin accepts and answers: its config section, endpoints and deliveries."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.outbound import MAX_URL_LENGTH
from server.pagination import PageSchema
from server.schemas import Timestamp
from server.users import MAX_ID

from plugins.webhooks.events import ALL, EVENT_TYPES

STATUSES = ("pending", "delivered", "failed")


class WebhooksConfigSchema(Schema):
    allow_private_targets = fields.Boolean(load_default=False, metadata={
        "description": "Let endpoints be on loopback, private, link-local and other non-public addresses."})
    max_per_user = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=300))
    max_response_bytes = fields.Integer(load_default=64 * 1024, validate=validate.Range(min=0, max=10 * 1024 * 1024))
    retry_initial = fields.Float(load_default=5.0, validate=validate.Range(min=0.001))
    retry_max_interval = fields.Float(load_default=3600.0, validate=validate.Range(min=0.001))
    retry_for = fields.Float(load_default=86400.0, validate=validate.Range(min=0))
    disable_after_failures = fields.Integer(load_default=5, validate=validate.Range(min=1, max=100_000))
    lease = fields.Float(load_default=60.0, validate=validate.Range(min=0.5))
    concurrency = fields.Integer(load_default=8, validate=validate.Range(min=1, max=256))
    poll_interval = fields.Float(load_default=1.0, validate=validate.Range(min=0.01, max=60))
    keep_days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=3650))

    @validates_schema
    def coherent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("lease", 60.0) <= data.get("timeout", 10.0):
            raise ValidationError("lease must be longer than timeout: a delivery still being sent would be sent "
                                  "again by another worker", "lease")
        if data.get("retry_max_interval", 3600.0) < data.get("retry_initial", 5.0):
            raise ValidationError("retry_max_interval must be at least retry_initial", "retry_max_interval")


_HTTP_URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="Not a valid http(s) URL.")


def event_types(value: list[str]) -> None:
    if not value:
        raise ValidationError('Name at least one event type, or "*" for every one.')
    unknown = sorted({t for t in value if t != ALL and t not in EVENT_TYPES})
    if unknown:
        raise ValidationError(f"Unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}, or \"*\".")
    if ALL in value and len(value) > 1:
        raise ValidationError('"*" means every event type: send it alone.')
    if len(set(value)) != len(value):
        raise ValidationError("An event type is listed twice.")


class WebhookSchema(Schema):
    """An endpoint as lists show it: never its secret, which only the answers that make it hold."""

    id = fields.Integer(dump_only=True, required=True)
    user_id = fields.Integer(data_key="userId", dump_only=True, required=True,
                             metadata={"description": "The user whose events the endpoint receives."})
    url = fields.String(
        required=True, validate=[validate.Length(min=1, max=MAX_URL_LENGTH), _HTTP_URL],
        metadata={"description": "Where deliveries are POSTed: http(s), on a public address (unless the server "
                                 "sets webhooks.allow_private_targets).", "example": "https://example.com/hooks/wa"},
    )
    events = fields.List(
        fields.String(validate=validate.Length(max=64)), load_default=lambda: [ALL],
        validate=[validate.Length(max=len(EVENT_TYPES) + 1), event_types],
        metadata={"description": f'The event types to deliver: any of {", ".join(EVENT_TYPES)}; or ["*"] (the default) '
                                 "for every one, including those added later.", "example": ["message", "session.status"]},
    )
    description = fields.String(load_default="", validate=validate.Length(max=500),
                                metadata={"description": "What the endpoint is for.", "example": "CRM inbox"})
    active = fields.Boolean(
        load_default=True,
        metadata={"description": "Inactive endpoints get no deliveries; what was queued for them waits. Set it true to "
                                 "enable an endpoint the server disabled."},
    )
    disabled_reason = fields.String(
        data_key="disabledReason", dump_only=True, required=True, allow_none=True,
        metadata={"description": "Why the server disabled the endpoint (its deliveries kept failing); null otherwise."},
    )
    created_at = Timestamp(data_key="createdAt", required=True)
    updated_at = Timestamp(data_key="updatedAt", required=True)


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(
        dump_only=True, required=True,
        metadata={"description": "The signing secret (Standard Webhooks, `whsec_<base64>`), shown only in this answer. "
                                 "Verify each delivery's webhook-signature with it.",
                  "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    )


class AdminWebhookListQuerySchema(PageSchema):
    user_id = fields.Integer(data_key="userId", load_default=None,
                             validate=validate.Range(min=1, max=MAX_ID, error="Must be an id from {min} to {max}."),
                             metadata={"description": "Only this user's endpoints."})


class DeliveryListQuerySchema(PageSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES),
                           metadata={"description": "Only deliveries in this state."})


class WebhookDeliverySchema(Schema):
    """One event for one endpoint, and how sending it went."""

    id = fields.Integer(dump_only=True, required=True)
    event_id = fields.String(data_key="eventId", dump_only=True, required=True, metadata={
        "description": "The webhook-id header of every attempt (and of a redelivery): receivers drop an id they have seen.",
        "example": "evt_k5xq3v7m2hn4w6yzb2c5d7f9ga"})
    event_type = fields.String(data_key="eventType", dump_only=True, required=True, metadata={"example": "message"})
    status = fields.String(dump_only=True, required=True, validate=validate.OneOf(STATUSES), metadata={
        "description": "pending (waiting for its turn or its next attempt), delivered (a 2xx answer), failed "
                       "(retried for webhooks.retry_for and given up)."})
    attempts = fields.Integer(dump_only=True, required=True)
    last_status_code = fields.Integer(data_key="lastStatusCode", dump_only=True, required=True, allow_none=True,
                                      metadata={"description": "The HTTP status of the last attempt; null when none came."})
    latency_ms = fields.Integer(data_key="latencyMs", dump_only=True, required=True, allow_none=True,
                                metadata={"description": "How long the last attempt took."})
    last_error = fields.String(data_key="lastError", dump_only=True, required=True, allow_none=True,
                               metadata={"description": "Why the last attempt failed; null when it did not."})
    next_attempt_at = Timestamp(data_key="nextAttemptAt", required=True, allow_none=True,
                                metadata={"description": "When it is tried next (pending only)."})
    last_attempt_at = Timestamp(data_key="lastAttemptAt", required=True, allow_none=True)
    created_at = Timestamp(data_key="createdAt", required=True)
    delivered_at = Timestamp(data_key="deliveredAt", required=True, allow_none=True)

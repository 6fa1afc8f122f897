"""The ``whatsapp.media`` settings."""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate

MB = 1024 * 1024


def _network(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValidationError(f"{value!r} is not an IP network such as 10.0.0.0/8.") from None


class MediaConfigSchema(Schema):
    max_upload_bytes = fields.Integer(load_default=64 * MB, validate=validate.Range(min=1024))
    max_download_bytes = fields.Integer(load_default=100 * MB, validate=validate.Range(min=1024))
    quota_bytes = fields.Integer(load_default=1024 * MB, validate=validate.Range(min=1024), metadata={
        "description": "Files kept per user (uploads and downloaded copies); the least recently used copies of "
                       "downloads are dropped first, and an upload past it is refused."})
    retention_days = fields.Float(load_default=30.0, validate=validate.Range(min=0, min_inclusive=False), metadata={
        "description": "Files unused for this long are deleted (downloads can be fetched again while WhatsApp has them)."})
    sweep_interval = fields.Float(load_default=3600.0, validate=validate.Range(min=0.05), metadata={
        "description": "Seconds between two passes of the retention sweeper."})
    fetch_timeout = fields.Float(load_default=30.0, validate=validate.Range(min=0.5), metadata={
        "description": "Seconds a {url} upload may take to fetch."})
    fetch_allow_private = fields.Boolean(load_default=False, metadata={
        "description": "Allow {url} uploads from loopback, private and link-local addresses (tests only)."})
    fetch_private_networks = fields.List(fields.String(validate=_network), load_default=None, allow_none=True, metadata={
        "description": "With fetch_allow_private: only these networks (CIDR) besides public addresses; "
                       "unset, every address."})
    fetch_allow_http = fields.Boolean(load_default=False, metadata={
        "description": "Also fetch plain http:// URLs (tests against a local simulator only)."})
    fetch_ca_file = fields.String(load_default=None, allow_none=True, metadata={
        "description": "A CA bundle for {url} uploads instead of the system's."})
    ffmpeg = fields.String(load_default="ffmpeg", metadata={"description": "The ffmpeg that makes voice notes OGG/Opus."})
    transcode_timeout = fields.Float(load_default=120.0, validate=validate.Range(min=1), metadata={
        "description": "Seconds ffmpeg may take to make one voice note."})

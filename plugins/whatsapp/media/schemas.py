"""The media routes' request bodies, queries and answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.outbound import MAX_URL_LENGTH

from plugins.whatsapp.media.names import MAX_FILENAME


class MediaUrlSchema(Schema):
    """An upload fetched from a URL (the JSON form of the upload route)."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL_LENGTH), metadata={
        "description": "An https:// URL of the file; the server fetches it (public addresses only)."})
    filename = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000), metadata={
        "description": "The file's name; default: the URL's last path segment."})


class UploadQuerySchema(Schema):
    filename = fields.String(load_default=None, validate=validate.Length(min=1, max=1000), metadata={
        "description": "The file's name, for a raw body (else its Content-Disposition header's)."})


class MediaSchema(Schema):
    mediaId = fields.String(required=True, metadata={
        "description": "Names the file when sending it; unguessable, and only its owner may use it."})
    mimetype = fields.String(required=True, metadata={"description": "The type, as the file's bytes show it."})
    size = fields.Integer(required=True, metadata={"description": "Bytes."})
    sha256 = fields.String(required=True, metadata={"description": "Hex SHA-256 of the bytes."})
    filename = fields.String(required=True, allow_none=True, validate=validate.Length(max=MAX_FILENAME))


# The other forms of the upload's body, for the OpenAPI document.
RAW_BODY = {"type": "string", "format": "binary", "description": (
    "The file itself, sent with its own Content-Type (any type; application/octet-stream lets the server "
    "tell the type from the bytes). Its name: ?filename= or a Content-Disposition header.")}
MULTIPART_BODY = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary", "description": "The file, with its filename and type."}},
    "required": ["file"],
}
FILE_ANSWER = {"type": "string", "format": "binary"}

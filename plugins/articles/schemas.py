"""What the articles plugin accepts and answers: the article object."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.schemas import Timestamp, http_url_or_empty, not_blank


class ArticleSchema(Schema):
    """An article. ``id`` and the timestamps are read-only; unknown fields are refused.

    Answers are this schema (component ``Article``); request bodies are its load side,
    without the read-only fields (``ArticleInput``, ``ArticleInputPartial``: server.openapi).
    """

    id = fields.Integer(dump_only=True, required=True)
    title = fields.String(
        required=True, validate=[validate.Length(min=1, max=200), not_blank], metadata={"example": "Opening hours"}
    )
    content = fields.String(load_default="", validate=validate.Length(max=200_000))
    author = fields.String(
        dump_default="",  # optional in a request, always in an answer (the column defaults to "")
        validate=[validate.Length(min=1, max=200), not_blank],
        metadata={"description": "Defaults to the creating administrator's fullName, or username."},
    )
    image = fields.String(
        load_default="",
        validate=[validate.Length(max=2048), http_url_or_empty],
        metadata={"description": "An http(s) URL, or empty for none."},
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)

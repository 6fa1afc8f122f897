"""The list conventions of docs/api.md: ``limit`` (default 50, capped at 200), ``offset``, ``total``."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 2**63 - 1  # what SQLite and MySQL take in OFFSET; past it the driver fails


class PageSchema(Schema):
    """Query arguments of every list; subclass it to add filters such as ``q``.

    A negative or non-numeric value is a 422, and so is an offset no database can take;
    a limit above 200 is capped, not refused.
    """

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=0, error="Must be 0 or more."))
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET, error="Must be from {min} to {max}.")
    )

    @post_load
    def cap_limit(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["limit"] = min(data["limit"], MAX_LIMIT)
        return data


def no_null_character(value: str) -> None:
    """A search for U+0000 would match rows without it: SQLite's LIKE ends the pattern there,
    and MySQL's collations ignore the character. Refused rather than answered wrongly."""
    if "\x00" in value:
        raise ValidationError("A search cannot contain a null character (U+0000).")


class SearchPageSchema(PageSchema):
    q = fields.String(load_default=None, validate=[validate.Length(max=200), no_null_character])


def page(items: list[Any], total: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"items": items, "total": int(total), "limit": args["limit"], "offset": args["offset"]}


LIKE_ESCAPE = "ESCAPE '!'"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally.

    Use it as ``name LIKE ? ESCAPE '!'`` (:data:`LIKE_ESCAPE`): '!' is spelled the same
    in SQLite and MySQL string literals, unlike the backslash.
    """
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def contains_folded(column: str, dialect: str) -> str:
    """SQL true when ``column`` holds the parameter's text in any letter case, in any script.

    SQLite's LIKE folds ASCII only, and a MySQL ``_bin`` column folds nothing: both sides are
    lowered instead, by MySQL's Unicode-aware ``LOWER`` or by ``ulower``, which the SQLite
    backend registers (Python's ``str.lower``). Pass ``like_pattern(text.lower())``.
    """
    lower = "LOWER" if dialect == "mysql" else "ulower"
    return f"{lower}({column}) LIKE ? {LIKE_ESCAPE}"

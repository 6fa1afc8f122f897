"""What the autoreply plugin accepts and answers: its config section, a rule, the away message."""
from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.schemas import Timestamp, not_blank

from wamulti_autoreply.hours import minutes
from wamulti_autoreply.matching import MATCH_KINDS

DAY = 24 * 3600
MAX_REPLY = 4096  # characters of an answer (WhatsApp takes more; a bot's answer should not)


class AutoreplyConfigSchema(Schema):
    """The ``autoreply:`` section of config.yaml."""

    window_seconds = fields.Integer(load_default=3600, validate=validate.Range(min=1, max=30 * DAY))
    max_rules_per_user = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    max_age_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1, max=DAY))


class AutoreplyRuleSchema(Schema):
    """A keyword rule: when a message matches ``keyword``, the bot answers ``reply``."""

    id = fields.Integer(dump_only=True, required=True)
    keyword = fields.String(
        required=True, validate=[validate.Length(min=1, max=200), not_blank],
        metadata={"description": "What to look for in a message (or a file's caption), case ignored.",
                  "example": "price"},
    )
    match = fields.String(
        attribute="match_kind", load_default="contains", validate=validate.OneOf(MATCH_KINDS),
        metadata={"description": "contains: anywhere in the text; word: as a whole word or phrase; exact: the "
                                 "whole message; starts_with: at its start."},
    )
    reply = fields.String(
        required=True, validate=[validate.Length(min=1, max=MAX_REPLY), not_blank],
        metadata={"description": "The answer the bot sends.", "example": "Our price list: https://example.com/prices"},
    )
    active = fields.Boolean(load_default=True, metadata={"description": "An inactive rule is kept but never applied."})
    created_at = Timestamp(data_key="createdAt", required=True)
    updated_at = Timestamp(data_key="updatedAt", required=True)


_CLOCK = re.compile(r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


def clock_time(value: str) -> None:
    if not _CLOCK.match(value):
        raise ValidationError("A time of day as HH:MM, from 00:00 to 24:00.")


class AutoreplyRangeSchema(Schema):
    """Open from ``start`` until ``end`` (local time, ``end`` excluded)."""

    start = fields.String(required=True, validate=clock_time, metadata={"example": "09:00"})
    end = fields.String(required=True, validate=clock_time, metadata={"example": "17:30"})

    @validates_schema
    def start_before_end(self, data: dict[str, Any], **kwargs: Any) -> None:
        if minutes(data["start"]) >= minutes(data["end"]):
            raise ValidationError("Must be later than start (a range ends by 24:00; split a night over two days).", "end")


def _no_overlap(ranges: list[dict[str, str]]) -> None:
    spans = sorted((minutes(r["start"]), minutes(r["end"])) for r in ranges)
    if any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])):
        raise ValidationError("The ranges of a day may not overlap.")


def _day() -> fields.List:
    return fields.List(fields.Nested(AutoreplyRangeSchema), load_default=list,
                       validate=[validate.Length(max=12), _no_overlap])


class AutoreplyHoursSchema(Schema):
    """Office hours per weekday; a day left out or empty is closed."""

    mon = _day()
    tue = _day()
    wed = _day()
    thu = _day()
    fri = _day()
    sat = _day()
    sun = _day()


def iana_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a known IANA time zone (like Europe/Berlin or UTC).") from None


class AutoreplyAwaySchema(Schema):
    """The away message, sent to whoever writes outside office hours."""

    enabled = fields.Boolean(required=True)
    message = fields.String(
        load_default="", validate=validate.Length(max=MAX_REPLY),
        metadata={"description": "The answer outside office hours; required when enabled.",
                  "example": "We are closed now and answer from 9:00."},
    )
    timezone = fields.String(
        load_default="UTC", validate=[validate.Length(min=1, max=64), iana_timezone],
        metadata={"description": "The IANA time zone the hours are in.", "example": "Europe/Berlin"},
    )
    hours = fields.Nested(
        AutoreplyHoursSchema, load_default=lambda: AutoreplyHoursSchema().load({}),
        metadata={"description": "Office hours per weekday (mon ... sun): the away message is sent outside them. "
                                 "Without any, it is sent at any time."},
    )
    updated_at = Timestamp(data_key="updatedAt", required=True, allow_none=True,
                           metadata={"description": "When it was last set; null: never (these are the defaults)."})

    @validates_schema
    def message_when_enabled(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("enabled") and not (data.get("message") or "").strip():
            raise ValidationError("Required when the away message is enabled.", "message")

"""JSON out: answers and event frames, encoded by orjson, the same text as ``json.dumps`` gave.

Every answer and every websocket frame used to be ``json.dumps(obj, ensure_ascii=False,
separators=(",", ":"), default=str)``; orjson writes the same compact UTF-8 several times faster.
Where the two would differ, the options below keep the old text:

- datetimes, dates and times go through ``default=str`` (``2026-01-02 03:04:05``, not orjson's
  ``2026-01-02T03:04:05``), and so do dataclasses;
- dict keys that are not strings (ints, floats, bools, None) become strings, as json.dumps makes them;
- what orjson refuses outright (an int past 64 bits, a string with an unpaired surrogate) falls
  back to json.dumps, so it is answered, or fails, exactly as before.

Left different, on purpose: floats are written in orjson's shortest form (``1e16`` where json
wrote ``1e+16``: the same number), NaN and infinities become ``null`` (json wrote ``NaN``, which
is not JSON), and a plain ``Enum`` member becomes its value.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(obj: Any) -> bytes:
    """``obj`` as compact JSON in UTF-8."""
    try:
        return orjson.dumps(obj, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def dumps_text(obj: Any) -> str:
    """``obj`` as compact JSON text (what the event bus carries)."""
    try:
        return orjson.dumps(obj, default=str, option=_OPTIONS).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)

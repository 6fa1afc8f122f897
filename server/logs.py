"""Logging: the format of our lines, and libraries kept from writing secrets.

At DEBUG, some libraries log what passes through them: aiosqlite every statement with its
parameters (bcrypt hashes among them), the websockets library every frame (a browser's DevTools
traffic carries device secrets and message bodies). Those loggers are held at INFO whatever level
the server runs at, so that no level writes a secret.

Two formats (``logging.format``): ``text``, one line a record for people and journald, and
``json``, one JSON object a line for log shippers, with ``time, level, logger, message`` and
whatever a record carries as ``extra`` (the access lines: ``request_id, method, route, status,
duration_ms, user_id``). Both write the same messages: what keeps secrets out of one keeps them
out of the other.
"""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Any

from pythonjsonlogger.json import JsonFormatter

SECRET_CARRYING_LOGGERS = ("aiosqlite", "aiomysql", "websockets", "pyppeteer")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
FORMATS = ("text", "json")


class JsonLines(JsonFormatter):
    """One JSON object a line: ``time`` (ISO 8601 UTC, milliseconds), ``level``, ``logger``,
    ``message``, the record's ``extra`` fields, and ``exc_info`` with a traceback."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        log_data["time"] = stamp.replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)


def formatter(fmt: str = "text") -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use one of {', '.join(FORMATS)}")
    return JsonLines() if fmt == "json" else logging.Formatter(FORMAT)


def quiet_secret_loggers() -> None:
    for name in SECRET_CARRYING_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET (0) too: it would inherit DEBUG from the root
            logger.setLevel(logging.INFO)


def setup_logging(level: str, fmt: str = "text") -> None:
    """Log to stderr at ``level``, in the ``text`` or ``json`` format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])
    # Tornado's own access log would print full URIs (tokens in query strings); ours is used instead.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    quiet_secret_loggers()

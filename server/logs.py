"""Logging: the format of our lines, and libraries kept from writing secrets.

At DEBUG, some libraries log what passes through them: aiosqlite every statement with its
parameters (bcrypt hashes among them), the websockets library every frame (a browser's DevTools
traffic carries device secrets and message bodies). Those loggers are held at INFO whatever level
the server runs at, so that no level writes a secret.
"""
from __future__ import annotations

import logging
import sys

SECRET_CARRYING_LOGGERS = ("aiosqlite", "aiomysql", "websockets", "pyppeteer")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def quiet_secret_loggers() -> None:
    for name in SECRET_CARRYING_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET (0) too: it would inherit DEBUG from the root
            logger.setLevel(logging.INFO)


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format=FORMAT, stream=sys.stderr)
    # Tornado's own access log would print full URIs (tokens in query strings); ours is used instead.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    quiet_secret_loggers()

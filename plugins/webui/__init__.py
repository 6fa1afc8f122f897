"""The webui plugin: the chat app served at `/`, fed by the REST API and the user's websocket."""
from __future__ import annotations

from typing import Any

from server import hookimpl

from plugins.webui.handlers import default_handlers


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers

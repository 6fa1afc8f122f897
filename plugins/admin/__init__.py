"""The admin plugin: users and their roles, and the server statistics every plugin adds to."""
from __future__ import annotations

from typing import Any

from server import hookimpl

from plugins.admin.handlers import default_handlers
from plugins.admin.service import own_stats


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
async def admin_stats(app: Any) -> dict[str, Any]:
    return await own_stats(app)

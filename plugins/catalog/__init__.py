"""The catalog plugin: products, their list and search, and their administration."""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.db.migrations import sql_folder

from plugins.catalog.handlers import count_products, default_handlers


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("catalog", dialect)


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
async def admin_stats(app: Any) -> dict[str, Any]:
    return {"products": await count_products(app.db)}

"""The catalog plugin: products, their list and search, and their administration."""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.cache import close_cache, open_cache
from server.db.migrations import sql_folder

from plugins.catalog.handlers import TABLE, count_products, default_handlers


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("catalog", dialect)


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
def startup(app: Any) -> None:
    open_cache(app, TABLE)  # anonymous list pages, dropped on every write (server.cache)


@hookimpl
def shutdown(app: Any) -> None:
    close_cache(app, TABLE)


@hookimpl
async def admin_stats(app: Any) -> dict[str, Any]:
    return {"products": await count_products(app.db)}

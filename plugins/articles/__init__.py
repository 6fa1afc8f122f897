"""The articles plugin: news and pages that administrators publish and anyone reads."""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.db.migrations import sql_folder

from plugins.articles.handlers import count_articles, default_handlers


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("articles", dialect)


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
async def admin_stats(app: Any) -> dict[str, Any]:
    return {"articles": await count_articles(app.db)}

"""The apikeys plugin: long-lived keys for integrations, each acting as its user (or less: read-only)."""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.db.migrations import sql_folder

from plugins.apikeys import keys
from plugins.apikeys.auth import authenticate_key
from plugins.apikeys.handlers import default_handlers
from plugins.apikeys.schemas import ApiKeysConfigSchema


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("apikeys", dialect)


@hookimpl
def config_schema() -> dict[str, type]:
    return {"apikeys": ApiKeysConfigSchema}


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl(tryfirst=True)  # asked before the JWT plugin, so a key's refusal says what is wrong with it
async def authenticate(app: Any, token: str) -> dict[str, Any] | None:
    if not keys.looks_like_key(token):
        return None
    return await authenticate_key(app.db, token)

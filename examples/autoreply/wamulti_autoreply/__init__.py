"""Auto-replies for WhatsApp: keyword rules and an away message outside office hours.

A third-party wamulti plugin, installed with pip and loaded through its entry point
``autoreply`` in the group ``wamulti``. Each user sets their rules and away message over
``/api/autoreply``; the bot answers the messages people send them through the server's send API.
"""
from __future__ import annotations

from importlib import resources
from typing import Any

from server import hookimpl

from wamulti_autoreply import bot, store
from wamulti_autoreply.handlers import default_handlers
from wamulti_autoreply.schemas import AutoreplyConfigSchema

__version__ = "0.1.0"


@hookimpl
def config_schema() -> dict[str, type]:
    return {"autoreply": AutoreplyConfigSchema}


@hookimpl
def register_migrations(dialect: str) -> Any:
    # A folder of this package, read through importlib.resources: works from a wheel or a zip.
    return resources.files(__name__) / "sql" / dialect


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
async def whatsapp_event(app: Any, user_id: int, event: dict) -> None:
    await bot.handle(app, user_id, event)


@hookimpl
async def user_deleted(app: Any, user_id: int) -> None:
    # The foreign keys already took the user's rows with them; deleting here as well keeps the
    # promise on a database whose tables were made without them.
    await store.forget_user(app.db, user_id)

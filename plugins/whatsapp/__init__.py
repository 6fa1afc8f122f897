"""The whatsapp plugin: one WhatsApp Web session per user, over REST and the websocket."""
from __future__ import annotations

import logging
from typing import Any

from clients import BrowserNotFound, find_chromium
from server import hookimpl
from server.db.migrations import sql_folder

from plugins.whatsapp.commands import COMMANDS
from plugins.whatsapp.handlers import default_handlers
from plugins.whatsapp.media.handlers import default_handlers as media_handlers
from plugins.whatsapp.message_handlers import default_handlers as message_handlers
from plugins.whatsapp.people_handlers import default_handlers as people_handlers
from plugins.whatsapp.metrics import register_metrics  # noqa: F401 - a hook
from plugins.whatsapp.schemas import WhatsAppConfigSchema
from plugins.whatsapp.service import WhatsAppService

log = logging.getLogger("wamulti.whatsapp")


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("whatsapp", dialect)


@hookimpl
def config_schema() -> dict[str, type]:
    return {"whatsapp": WhatsAppConfigSchema}


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers + message_handlers + media_handlers + people_handlers


@hookimpl
def register_ws_commands(app: Any) -> dict:
    if app.config["whatsapp"]["cluster"]["enabled"]:  # a command for a session held elsewhere goes to its node
        from plugins.whatsapp.cluster.commands import routed_commands

        return routed_commands(COMMANDS)
    return COMMANDS


@hookimpl
async def startup(app: Any) -> None:
    try:
        find_chromium(app.config["whatsapp"]["chromium"])
    except BrowserNotFound as exc:  # said once at start, not first to the user who starts a session
        log.error("%s; WhatsApp sessions cannot start until it is installed", exc)
    service = WhatsAppService(app)
    app.state["whatsapp"] = service
    await service.open()
    if app.config["whatsapp"]["restore_on_boot"]:
        service.spawn(service.restore())


@hookimpl
async def shutdown(app: Any) -> None:
    service: WhatsAppService | None = app.state.pop("whatsapp", None)
    if service is not None:
        await service.close()


@hookimpl
def ws_hello(app: Any, user: dict, target_user_id: int) -> Any:
    service: WhatsAppService | None = app.state.get("whatsapp")
    if service is None:
        return {}
    if service.cluster is None:
        return {"session": service.status(target_user_id)}

    async def hello() -> dict:  # in a cluster the session may be held by another node
        return {"session": await service.hello_status(target_user_id)}

    return hello()


@hookimpl
def admin_stats(app: Any) -> dict:
    service: WhatsAppService | None = app.state.get("whatsapp")
    return {"whatsapp": service.stats()} if service else {}


@hookimpl
async def user_deleted(app: Any, user_id: int) -> None:
    service: WhatsAppService | None = app.state.get("whatsapp")
    if service is not None:
        await service.forget_user(user_id)

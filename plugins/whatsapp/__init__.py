"""The whatsapp plugin: one WhatsApp Web session per user, over REST and the websocket."""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.timeutil import iso

from plugins.whatsapp.commands import COMMANDS
from plugins.whatsapp.handlers import default_handlers
from plugins.whatsapp.schemas import WhatsAppConfigSchema
from plugins.whatsapp.service import WhatsAppService


@hookimpl
def config_schema() -> dict[str, type]:
    return {"whatsapp": WhatsAppConfigSchema}


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
def register_ws_commands(app: Any) -> dict:
    return COMMANDS


@hookimpl
async def startup(app: Any) -> None:
    service = WhatsAppService(app)
    app.state["whatsapp"] = service
    if app.config["whatsapp"]["restore_on_boot"]:
        service.spawn(service.restore())


@hookimpl
async def shutdown(app: Any) -> None:
    service: WhatsAppService | None = app.state.pop("whatsapp", None)
    if service is not None:
        await service.close()


@hookimpl
def ws_hello(app: Any, user: dict, target_user_id: int) -> dict:
    service: WhatsAppService | None = app.state.get("whatsapp")
    return {"session": service.status(target_user_id)} if service else {}


@hookimpl
def admin_stats(app: Any) -> dict:
    service: WhatsAppService | None = app.state.get("whatsapp")
    return {"whatsapp": service.stats()} if service else {}


@hookimpl
async def whatsapp_sessions(app: Any) -> list[dict]:
    service: WhatsAppService | None = app.state.get("whatsapp")
    if service is None:
        return []
    statuses = service.manager.statuses()
    if not statuses:
        return []
    ids = [int(key) for key in statuses]
    marks = ", ".join("?" for _ in ids)
    rows = await app.db.fetch_all(f"SELECT id, username FROM users WHERE id IN ({marks})", ids)
    names = {int(r["id"]): r["username"] for r in rows}
    out = []
    for key, raw in sorted(statuses.items(), key=lambda item: int(item[0])):
        status = service.api_status(int(key), raw)
        out.append(
            {
                "userId": int(key),
                "username": names.get(int(key)),
                "state": status["state"],
                "phone": status["phone"],
                "since": status["since"],
                "lastActivity": iso(raw.get("lastActivity")) if raw.get("lastActivity") else None,
            }
        )
    return out


@hookimpl
async def user_deleted(app: Any, user_id: int) -> None:
    service: WhatsAppService | None = app.state.get("whatsapp")
    if service is not None:
        await service.forget_user(user_id)

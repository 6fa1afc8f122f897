"""The webhooks plugin: each user's WhatsApp events POSTed to the endpoints they register, signed
(Standard Webhooks), durably, in order per chat, with retries (docs/webhooks.md).

Built on public hooks only: ``whatsapp_event_stored`` writes the deliveries in the transaction that
stores each event (the outbox), ``whatsapp_event`` wakes the dispatcher once that transaction is
committed, and the generic hooks give it its tables, settings, routes, workers and metrics.
"""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.db.migrations import sql_folder

from plugins.webhooks import store
from plugins.webhooks.handlers import default_handlers
from plugins.webhooks.schemas import WebhooksConfigSchema
from plugins.webhooks.service import WebhooksService

STATE = "webhooks"


@hookimpl
def config_schema() -> dict[str, type]:
    return {"webhooks": WebhooksConfigSchema}


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("webhooks", dialect)


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
def startup(app: Any) -> None:
    service = WebhooksService(app)
    app.state[STATE] = service
    service.start()


@hookimpl
async def shutdown(app: Any) -> None:
    service = app.state.pop(STATE, None)
    if service is not None:
        await service.close()


@hookimpl
async def user_deleted(app: Any, user_id: int) -> None:
    # Their rows go with the user by foreign key already; this says so, and holds if they did not.
    await store.delete_user_endpoints(app.db, user_id)


@hookimpl
async def whatsapp_event_stored(app: Any, tx: Any, user_id: int, event: dict) -> None:
    service = app.state.get(STATE)
    if service is not None:
        await service.enqueue(tx, user_id, event)


@hookimpl
def whatsapp_event(app: Any, user_id: int, event: dict) -> None:
    service = app.state.get(STATE)
    if service is not None:
        service.stored()


@hookimpl
def register_metrics(app: Any, registry: Any) -> None:
    service = app.state.get(STATE)
    if service is not None:
        service.stats.register(registry)

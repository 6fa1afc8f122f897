"""The orders plugin: users buy catalog products and earn their points; a ledger records every change of a balance.

It needs the catalog plugin (orders are of its products). A deleted user's orders and ledger
entries go with them by foreign key; entries and cancellations an administrator made keep
their rows, with ``adminId``/``cancelledBy`` null, once that administrator is deleted.
"""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.db.migrations import sql_folder

from plugins.orders.handlers import default_handlers


@hookimpl
def register_migrations(dialect: str) -> Any:
    return sql_folder("orders", dialect)


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
def startup(app: Any) -> None:
    if not app.plugins.has_plugin("catalog"):
        raise RuntimeError("the orders plugin needs the catalog plugin: add catalog to plugins in config.yaml")

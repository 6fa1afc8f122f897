"""The metrics plugin: GET /metrics for Prometheus, off until ``metrics.enabled`` is true.

Each app has a registry of its own (tests run several apps in one process), holding the process
collector, the database figures, and whatever every plugin registers through the
``register_metrics`` hook: the core its HTTP requests and websockets, the WhatsApp plugin its
sessions and messages.
"""
from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from server import hookimpl
from server.plugins import call_hook

from plugins.metrics.collectors import DatabaseCollector
from plugins.metrics.handlers import MetricsHandler
from plugins.metrics.schemas import MetricsConfigSchema


@hookimpl
def config_schema() -> dict[str, type]:
    return {"metrics": MetricsConfigSchema}


@hookimpl
def register_routes(app: Any) -> list:
    # Off, the route does not exist: /metrics is a 404 like any unknown path, and not documented.
    return [(r"/metrics", MetricsHandler)] if app.config["metrics"]["enabled"] else []


@hookimpl(trylast=True)  # after every other plugin's startup, so that their state exists
async def startup(app: Any) -> None:
    if not app.config["metrics"]["enabled"]:
        return
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    registry.register(DatabaseCollector(app))
    await call_hook(app.plugins, "register_metrics", app=app, registry=registry)
    app.state["metrics"] = registry


@hookimpl
def shutdown(app: Any) -> None:
    app.state.pop("metrics", None)

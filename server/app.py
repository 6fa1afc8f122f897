"""The application: config and plugins in, a listening Tornado server out.

No module-level state: tests build as many apps as they like.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any, Mapping

import pluggy
import tornado.httpserver
import tornado.netutil
import tornado.web

from server import access
from server.config import Config, load_core, read_file, validate_plugin_sections
from server.db import Database, open_database, redact_url
from server.db.migrations import migrate, sql_folder
from server.events import make_event_bus
from server.files import private_dir
from server.logs import quiet_secret_loggers
from server.handlers import BaseHandler, NotFoundHandler, access_log, hard_body_cap
from server.plugins import BUILTINS, call_hook, make_plugin_manager, notify_hook

log = logging.getLogger("wamulti")

SHUTDOWN_GRACE = 10.0  # seconds requests in flight get to finish at shutdown


def build_app(
    config_path: str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    entry_points: bool = True,
) -> WamultiApp:
    """Read and validate the configuration, register the plugins, return an app not yet started.

    ``overrides`` are merged over the file section by section (tests use them).
    """
    raw = read_file(config_path)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    core, merged = load_core(raw, environ)
    pm = make_plugin_manager(core.plugins, entry_points=entry_points, disabled=core.disabled_plugins)
    schemas: dict[str, type] = {}
    for result in pm.hook.config_schema():
        schemas.update(result or {})
    tolerated = [*BUILTINS, *core.disabled_plugins]  # a switched-off plugin's section may stay
    config = validate_plugin_sections(core, merged, schemas, tolerated=tolerated, environ=environ)
    return WamultiApp(config, pm)


def default_config_text() -> str:
    """A config.yaml with every setting of the core and the built-in plugins at its default."""
    import yaml

    core, merged = load_core({}, environ={})
    pm = make_plugin_manager(core.plugins or list(BUILTINS), entry_points=False)
    schemas: dict[str, type] = {}
    for result in pm.hook.config_schema():
        schemas.update(result or {})
    config = validate_plugin_sections(core, merged, schemas, tolerated=BUILTINS, environ={})
    values = {key: value for key, value in config.items()}
    values["plugins"] = list(BUILTINS)
    values["database"] = {**values["database"], "url": None}  # None: SQLite in the data folder
    header = (
        "# wamulti's configuration, written by `wamulti init` with every setting at its default.\n"
        "# Any key can be overridden by an environment variable WAMULTI_<SECTION>__<KEY>.\n"
        "# database.url null is SQLite in <data_dir>/wamulti.db; for MySQL or MariaDB:\n"
        "#   mysql://user:password@host:3306/database\n"
    )
    return header + yaml.safe_dump(_plain(values), sort_keys=False, allow_unicode=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def migration_sources(plugins: pluggy.PluginManager, dialect: str) -> list[tuple[str, Any]]:
    sources: list[tuple[str, Any]] = [("core", sql_folder("core", dialect))]
    for impl in plugins.hook.register_migrations.get_hookimpls():
        folder = impl.function(dialect=dialect)
        if folder:
            sources.append((impl.plugin_name, Path(folder) if isinstance(folder, str) else folder))
    return sources


class WamultiApp:
    """One wamulti server: its config, plugins, database and (once started) HTTP server."""

    def __init__(self, config: Config, plugins: pluggy.PluginManager) -> None:
        self.config = config
        self.plugins = plugins
        self.db: Database | None = None
        self.events: Any = None
        self.state: dict[str, Any] = {}
        self.routes: list[tuple[Any, ...]] = []
        self.tornado_app: tornado.web.Application | None = None
        self.http_server: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None
        self.started_monotonic = time.monotonic()
        self._opened = False
        quiet_secret_loggers()

    @property
    def data_dir(self) -> Path:
        return Path(self.config.data_dir)

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic

    async def open(self) -> None:
        """Open the database and apply pending migrations (all the CLI needs)."""
        private_dir(self.data_dir)
        db_cfg = self.config.database
        self.db = open_database(
            db_cfg.url, pool_size=db_cfg.pool_size, connect_timeout=db_cfg.connect_timeout, query_timeout=db_cfg.query_timeout
        )
        await self.db.connect()
        log.info("database: %s", redact_url(db_cfg.url))
        applied = await migrate(self.db, self.migration_sources())
        if applied:
            log.info("applied %d migration(s)", len(applied))
        self._opened = True

    def migration_sources(self) -> list[tuple[str, Any]]:
        """The core's migration folder, then each plugin's (``register_migrations``), in
        registration order; a folder is recorded under the name of the plugin that returned it."""
        return migration_sources(self.plugins, self.db.dialect)

    def collect_routes(self) -> list[tuple[Any, ...]]:
        from server.health import default_handlers
        from server.openapi import default_handlers as openapi_handlers

        routes: list[tuple[Any, ...]] = [*default_handlers, *openapi_handlers]
        for result in self.plugins.hook.register_routes(app=self):
            routes.extend(result or [])
        patterns = [r[0] for r in routes]
        dupes = sorted({p for p in patterns if patterns.count(p) > 1})
        if dupes:
            raise RuntimeError(f"two plugins register the same route: {', '.join(dupes)}")
        access.check_handlers([(r[0], r[1]) for r in routes], BaseHandler)
        return routes

    def make_tornado_app(self) -> tornado.web.Application:
        self.routes = self.collect_routes()
        return tornado.web.Application(
            self.routes,
            wamulti=self,
            default_handler_class=NotFoundHandler,
            log_function=access_log,
            websocket_ping_interval=self.config.websocket.ping_interval or None,
            websocket_ping_timeout=max(30.0, 2 * self.config.websocket.ping_interval),
            websocket_max_message_size=self.config.websocket.max_message_bytes,
        )

    async def start(self, *, port: int | None = None, host: str | None = None) -> None:
        """Open, run start-up hooks, and listen. ``port=0`` picks a free port."""
        if not self._opened:
            await self.open()
        self.tornado_app = self.make_tornado_app()
        self.events = make_event_bus(self.config.events)
        await self.events.start()
        await call_hook(self.plugins, "startup", app=self)
        host = host if host is not None else self.config.server.host
        port = port if port is not None else self.config.server.port
        sockets = tornado.netutil.bind_sockets(port, host)
        self.http_server = tornado.httpserver.HTTPServer(
            self.tornado_app,
            xheaders=self.config.server.xheaders,
            max_body_size=hard_body_cap(self.config.server.max_body_bytes),
            idle_connection_timeout=75,
        )
        self.http_server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("listening on http://%s:%d", host, self.port)

    async def stop(self) -> None:
        """Stop accepting, run shutdown hooks (closing every browser), close the bus and the
        database. Each step runs even when an earlier one failed."""
        try:
            if self.http_server is not None:
                self.http_server.stop()
                try:
                    # Waits for requests in flight; one stuck forever must not keep the server up.
                    await asyncio.wait_for(self.http_server.close_all_connections(), SHUTDOWN_GRACE)
                except asyncio.TimeoutError:
                    log.warning("requests still running after %.0f s; stopping anyway", SHUTDOWN_GRACE)
                self.http_server = None
            if self.tornado_app is not None:
                self.tornado_app = None
                await notify_hook(self.plugins, "shutdown", app=self)
        finally:
            try:
                if self.events is not None:
                    events, self.events = self.events, None
                    await events.close()
            finally:
                if self.db is not None:
                    db, self.db = self.db, None
                    await db.close()
                self._opened = False

"""The plugin manager factory and the helper that awaits hook results."""
from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any, Iterable

import pluggy

from server import hookspecs
from server.config import ConfigError

log = logging.getLogger("wamulti.plugins")

ENTRY_POINT_GROUP = "wamulti"

# Parts of the core that plug in through the same hooks; always registered.
CORE_PLUGINS: dict[str, str] = {
    "core.http": "server.handlers",  # its request metrics (register_metrics)
    "core.websocket": "server.ws",
}

# Built-in plugins: name in config.yaml -> module.
BUILTINS: dict[str, str] = {
    "auth": "plugins.auth",
    "catalog": "plugins.catalog",
    "articles": "plugins.articles",
    "admin": "plugins.admin",
    "whatsapp": "plugins.whatsapp",
    "webui": "plugins.webui",
    "apikeys": "plugins.apikeys",
    "metrics": "plugins.metrics",
    "orders": "plugins.orders",
    "webhooks": "plugins.webhooks",
}


def make_plugin_manager(names: Iterable[str], *, entry_points: bool = True,
                        disabled: Iterable[str] = ()) -> pluggy.PluginManager:
    """Build a plugin manager with the named built-ins and the installed third-party plugins,
    but those ``disabled`` (entry point names, from ``disabled_plugins:``).

    Raises ConfigError for an unknown built-in name; pluggy's PluginValidationError
    for a hook implementation that has no spec.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for name, module in CORE_PLUGINS.items():
        pm.register(importlib.import_module(module), name=name)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"config: plugins: {name!r} is listed twice")
        seen.add(name)
        module = BUILTINS.get(name)
        if module is None:
            known = ", ".join(sorted(BUILTINS))
            raise ConfigError(f"config: plugins: unknown plugin {name!r} (built-ins: {known})")
        pm.register(importlib.import_module(module), name=name)
    if entry_points:
        for name in disabled:
            pm.set_blocked(name)  # load_setuptools_entrypoints skips a blocked name
        count = pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        if count:
            log.info("loaded %d third-party plugin(s): %s", count, ", ".join(third_party_names(pm)))
    pm.check_pending()
    return pm


def third_party_names(pm: pluggy.PluginManager) -> list[str]:
    return [name for name, _ in pm.list_name_plugin() if name not in BUILTINS and name not in CORE_PLUGINS]


async def await_me_maybe(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


async def call_hook(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[Any]:
    """Call a hook and await every result that is awaitable, in registration order."""
    results = getattr(pm.hook, hook_name)(**kwargs)
    return [await await_me_maybe(result) for result in results]


async def notify_hook(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call every implementation of a notification hook (``shutdown``, ``user_deleted``), each on
    its own: one that raises is logged with its plugin's name, and the others still run."""
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):  # pluggy's call order
        try:
            await await_me_maybe(impl.function(**{name: kwargs[name] for name in impl.argnames}))
        except Exception:  # noqa: BLE001 - one plugin's failure must not skip the others
            log.exception("the %s hook of plugin %r failed", hook_name, impl.plugin_name)

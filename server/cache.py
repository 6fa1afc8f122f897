"""Rendered pages of public lists, kept until a write changes their table.

``GET /api/products`` and ``GET /api/articles`` answer every caller the same bytes for the same
query string until a product or an article changes, so a page asked without a credential is
rendered once (queries, rows to JSON) and its bytes are kept, by query string. A request that
carries a credential is rendered as before (nothing it gets depends on it today, but a list that
one day shows an administrator more must not be served from a page made for anybody).

Every write to a table drops its pages: at once in the process that wrote, and through an event
on the bus channel :data:`CHANNEL` in every other process (with ``events.backend: redis``, each
process subscribes to it at start). A page is also dropped after :data:`MAX_AGE` seconds: that
bounds how long a change made outside wamulti (SQL typed by hand) or an invalidation lost while
Redis was unreachable can leave an old page in place.

A page read from the database before a write and finished after it must not be kept: the cache
counts its invalidations (``generation``), and a page is only stored when none came while it was
being rendered.
"""
from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from server.events import event
from server.fastjson import dumps
from server.handlers import request_credential

if TYPE_CHECKING:
    from server.handlers import BaseHandler

log = logging.getLogger("wamulti.cache")

CHANNEL = "core:cache"  # invalidations, heard by every process
MAX_AGE = 30.0  # seconds a page is served at most
MAX_BYTES = 8 * 1024 * 1024  # pages kept per table, in bytes; the oldest go first
MAX_PAGE_BYTES = 1024 * 1024  # a larger page is answered but not kept
_STATE_PREFIX = "cache."  # app.state keys; no plugin can be named with a dot


class PageCache:
    """The kept pages of one table, by query string."""

    def __init__(self, table: str, *, max_age: float = MAX_AGE, max_bytes: int = MAX_BYTES,
                 max_page_bytes: int = MAX_PAGE_BYTES) -> None:
        self.table = table
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.max_page_bytes = max_page_bytes
        self.generation = 0  # invalidations so far
        self._pages: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: str) -> bytes | None:
        page = self._pages.get(key)
        if page is None:
            return None
        if time.monotonic() - page[0] > self.max_age:
            self._drop(key)
            return None
        return page[1]

    def put(self, key: str, body: bytes, generation: int) -> bool:
        """Keep ``body`` under ``key`` unless the table changed since ``generation`` was read
        (the page may hold rows from before the change) or the page is too large."""
        if generation != self.generation or len(body) > self.max_page_bytes:
            return False
        if key in self._pages:
            self._drop(key)
        self._pages[key] = (time.monotonic(), body)
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._pages)))
        return True

    def clear(self) -> None:
        self.generation += 1
        self._pages.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        self._bytes -= len(self._pages.pop(key)[1])


def page_cache(app: Any, table: str) -> PageCache | None:
    """The cache of ``table``'s pages, when its plugin opened one."""
    return app.state.get(_STATE_PREFIX + table)


def open_cache(app: Any, table: str) -> PageCache:
    """Make ``table``'s page cache and listen for its invalidations (a plugin's ``startup``)."""
    cache = PageCache(table)

    def on_invalidation(text: str) -> None:
        try:
            dropped = json.loads(text)["data"]["table"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable cache invalidation")
            return
        if dropped == table:
            cache.clear()

    app.state[_STATE_PREFIX + table] = cache
    app.state[_STATE_PREFIX + table + ".listener"] = on_invalidation
    app.events.subscribe(CHANNEL, on_invalidation)
    return cache


def close_cache(app: Any, table: str) -> None:
    """Forget ``table``'s cache and stop listening (a plugin's ``shutdown``)."""
    app.state.pop(_STATE_PREFIX + table, None)
    listener = app.state.pop(_STATE_PREFIX + table + ".listener", None)
    if listener is not None and app.events is not None:
        app.events.unsubscribe(CHANNEL, listener)


async def invalidate(app: Any, table: str) -> None:
    """``table`` changed: drop its pages here now, and in every other process through the bus.

    Called after the write succeeded. A bus that cannot publish (Redis down) does not fail the
    request that wrote: the other processes then serve their pages until :data:`MAX_AGE`."""
    cache = page_cache(app, table)
    if cache is not None:
        cache.clear()
    try:
        await app.events.publish(CHANNEL, event("cache.invalidated", {"table": table}))
    except Exception:  # noqa: BLE001 - the write is done; the other processes catch up at MAX_AGE
        log.warning("could not tell the other processes that %s changed", table, exc_info=True)


async def answer_page(handler: BaseHandler, table: str, render: Callable[[], Awaitable[Any]]) -> None:
    """Answer a public list of ``table``: the kept page for this query string when there is one
    and the request carries no credential, else ``await render()`` (kept for the next caller)."""
    cache = page_cache(handler.app, table)
    if cache is None or request_credential(handler.request.headers) is not None:
        handler.write_json(await render())
        return
    key = handler.request.query
    body = cache.get(key)
    if body is None:
        generation = cache.generation
        body = dumps(await render())
        cache.put(key, body, generation)
    handler.write_json_bytes(body)

"""The ``whatsapp_event`` hook: every event of every session, to every plugin that listens, without
ever holding up a session, the websocket or another plugin.

Each listening plugin has a queue of its own (``whatsapp.plugin_queue_size`` events) and one task
that calls it, event after event, in the order they happened. A plugin that raises is logged
with its name and gets the next event; a plugin that is slow only falls behind itself: once its
queue is full, the events it has no room for are dropped for it (counted, and logged at most once
a minute). Delivery is at most once: an event is in memory only, so a restart loses what a queue
held. A plugin that must lose nothing writes its own outbox in ``whatsapp_event_stored``.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from server.plugins import await_me_maybe

log = logging.getLogger("wamulti.whatsapp")

DROP_LOG_INTERVAL = 60.0


@dataclass
class _Listener:
    name: str
    impl: Any
    queue: asyncio.Queue
    task: asyncio.Task | None = None
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    last_drop_log: float = field(default=0.0)


class PluginEvents:
    def __init__(self, app: Any, queue_size: int) -> None:
        self.app = app
        self.queue_size = queue_size
        self._listeners: list[_Listener] = []

    def start(self) -> None:
        for impl in reversed(self.app.plugins.hook.whatsapp_event.get_hookimpls()):  # pluggy's call order
            listener = _Listener(impl.plugin_name, impl, asyncio.Queue(maxsize=self.queue_size))
            listener.task = asyncio.create_task(self._run(listener), name=f"whatsapp-events-{impl.plugin_name}")
            self._listeners.append(listener)

    def deliver(self, user_id: int, frame: dict[str, Any]) -> None:
        """Hand an event (a websocket frame ``{type, data}``) to every listener; never blocks."""
        for listener in self._listeners:
            try:
                listener.queue.put_nowait((user_id, frame))
            except asyncio.QueueFull:
                listener.dropped += 1
                now = time.monotonic()
                if now - listener.last_drop_log >= DROP_LOG_INTERVAL:
                    listener.last_drop_log = now
                    log.warning("plugin %s falls behind: its queue of %d WhatsApp events is full; %d dropped so far",
                                listener.name, self.queue_size, listener.dropped)

    async def _run(self, listener: _Listener) -> None:
        argnames = listener.impl.argnames
        while True:
            user_id, frame = await listener.queue.get()
            args = {"app": self.app, "user_id": user_id, "event": frame}
            try:
                await await_me_maybe(listener.impl.function(**{name: args[name] for name in argnames}))
                listener.delivered += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a plugin's failure is its own
                listener.failed += 1
                log.exception("the whatsapp_event hook of plugin %r failed on a %s event", listener.name, frame.get("type"))

    def stats(self) -> dict[str, dict[str, int]]:
        """Per plugin: events delivered, failed (the hook raised), dropped (its queue was full), waiting."""
        return {l.name: {"delivered": l.delivered, "failed": l.failed, "dropped": l.dropped, "waiting": l.queue.qsize()}
                for l in self._listeners}

    async def close(self) -> None:
        for listener in self._listeners:
            if listener.task is not None:
                listener.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener.task
        self._listeners.clear()

"""The event bus: publish an event to a channel, subscribe to a channel.

Events are the websocket frames themselves (``{"type": ..., "data": ...}``),
serialised to JSON once per publish: subscribers receive the JSON text, so a
thousand sockets forward one string instead of encoding a thousand times. Channels
are strings; a user's channel is :func:`user_channel`. Subscribers are plain
callables that must not block: the websocket hub subscribes once per channel, frames the
text once and writes the same bytes to every socket of the channel (server.ws).

Two backends: ``memory`` (one process) and ``redis`` (pub/sub, so several server
processes behind one load balancer deliver each user's events wherever the user's
sockets are connected). With Redis, a process's own events also travel through Redis,
so every event reaches every socket exactly once.
"""
from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any, Callable

from server.fastjson import dumps_text

log = logging.getLogger("wamulti.events")

Event = dict[str, Any]
Subscriber = Callable[[str], None]


def user_channel(user_id: int | str) -> str:
    return f"user:{user_id}"


def event(type_: str, data: Any) -> Event:
    return {"type": type_, "data": data}


def encode(event: Event) -> str:
    """The event as the compact JSON text every subscriber receives (see server.fastjson)."""
    return dumps_text(event)


class EventBus(abc.ABC):
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self.published = 0

    async def start(self) -> None:
        """Connect whatever the backend needs."""

    async def close(self) -> None:
        self._subscribers.clear()

    @abc.abstractmethod
    async def publish(self, channel: str, event: Event) -> None:
        """Deliver ``event`` to every subscriber of ``channel`` (in any process for Redis)."""

    def subscribe(self, channel: str, subscriber: Subscriber) -> None:
        self._subscribers[channel].add(subscriber)

    def unsubscribe(self, channel: str, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[channel]

    def subscriber_count(self, channel: str | None = None) -> int:
        if channel is not None:
            return len(self._subscribers.get(channel, ()))
        return sum(len(s) for s in self._subscribers.values())

    def _deliver(self, channel: str, text: str) -> None:
        for subscriber in list(self._subscribers.get(channel, ())):
            try:
                subscriber(text)
            except Exception:  # noqa: BLE001 - one bad subscriber must not starve the others
                log.exception("event subscriber failed on %s", channel)


class MemoryEventBus(EventBus):
    """Events stay in this process."""

    async def publish(self, channel: str, event: Event) -> None:
        self.published += 1
        self._deliver(channel, encode(event))


class RedisEventBus(EventBus):
    """Events travel through Redis pub/sub; one connection listens for this process."""

    def __init__(self, url: str, prefix: str = "wamulti:") -> None:
        super().__init__()
        self.url = url
        self.PREFIX = prefix
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(self.url, decode_responses=True, health_check_interval=30)
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # Listen on every wamulti channel: one subscription per process, not one per socket.
        await self._pubsub.psubscribe(f"{self.PREFIX}*")
        self._reader = asyncio.create_task(self._read(), name="redis-events")

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect and go on
                log.warning("redis event reader lost its connection; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"][len(self.PREFIX):]
            if channel not in self._subscribers:
                continue
            self._deliver(channel, message["data"])

    async def publish(self, channel: str, event: Event) -> None:
        self.published += 1
        await self._redis.publish(self.PREFIX + channel, encode(event))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        await super().close()


def make_event_bus(config: Any) -> EventBus:
    if config["backend"] == "redis":
        return RedisEventBus(config["redis_url"], config["redis_prefix"])
    return MemoryEventBus()

"""Sends by the client's own key (``clientId``), so that a client which retries a send whose
answer it never got (its connection dropped while the message waited in the queue) sends once.

A repeat of a key answers what the first send answered (the message as stored now), or waits
for it while it is still in flight; a send that failed forgets its key, so it may be retried.
Keys live in this process's memory for ``TTL`` seconds, at most ``SIZE`` of them.
"""
from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Awaitable, Callable

TTL = 24 * 3600.0
SIZE = 20_000

Send = Callable[[], Awaitable[dict[str, Any]]]


class RecentSends:
    def __init__(self, ttl: float = TTL, size: int = SIZE) -> None:
        self.ttl, self.size = ttl, size
        self._sends: collections.OrderedDict[tuple[int, str], tuple[float, asyncio.Future]] = collections.OrderedDict()

    async def once(self, user_id: int, client_id: str | None, send: Send) -> tuple[dict[str, Any], bool]:
        """``send()``'s answer, and whether this call sent it (False: a repeat of ``client_id``)."""
        if client_id is None:
            return await send(), True
        self._forget_old(time.monotonic())
        key = (user_id, client_id)
        known = self._sends.get(key)
        if known is not None:
            return await asyncio.shield(known[1]), False
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._sends[key] = (time.monotonic(), future)
        while len(self._sends) > self.size:
            self._sends.popitem(last=False)
        try:
            result = await send()
        except BaseException as exc:
            self._sends.pop(key, None)
            future.set_exception(exc)
            future.exception()  # retrieved: nobody may be waiting for it
            raise
        future.set_result(result)
        return result, True

    def _forget_old(self, now: float) -> None:
        while self._sends:
            first = next(iter(self._sends.values()))
            if now - first[0] < self.ttl:
                return
            self._sends.popitem(last=False)

"""Each session's outgoing actions, in the order the server accepted them.

A send over REST and one over the websocket land in the same first-in, first-out queue of their
session, and one worker per session takes them one at a time. The rate limit (a token bucket)
and its random pause delay the queue; they never reorder it, and an action over the rate waits
for its turn instead of being refused. Only a full queue refuses (429, with the seconds the
queue needs to drain as ``Retry-After``).

The caller awaits its own action: the answer comes when the message left, with WhatsApp's id.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, Awaitable, Callable

from server.errors import RateLimited, Unavailable

from plugins.whatsapp.ratelimit import TokenBucket

log = logging.getLogger("wamulti.whatsapp")

Job = Callable[[], Awaitable[Any]]


class _Outbox:
    """One session's queue and its worker."""

    def __init__(self, bucket: TokenBucket, jitter: float, capacity: int) -> None:
        self.bucket = bucket
        self.jitter = jitter
        self.queue: asyncio.Queue[tuple[Job, asyncio.Future]] = asyncio.Queue(maxsize=capacity)
        self.worker: asyncio.Task | None = None
        self.busy = False  # an action taken from the queue, waiting for its turn or running

    def accept(self, job: Job) -> asyncio.Future:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((job, future))  # QueueFull: the caller answers 429
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work(), name="whatsapp-send-queue")
        return future

    async def _work(self) -> None:
        while not self.queue.empty():
            job, future = self.queue.get_nowait()
            if future.done():  # its caller went away, and nobody else waits for it
                continue
            self.busy = True
            try:
                while (wait := self.bucket.take()) > 0:
                    await asyncio.sleep(wait)
                if self.jitter:
                    await asyncio.sleep(random.uniform(0, self.jitter))
                result = await job()
            except asyncio.CancelledError:
                future.cancel()
                self._cancel_waiting()
                raise
            except Exception as exc:  # noqa: BLE001 - it belongs to the caller
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self.busy = False

    def _cancel_waiting(self) -> None:
        while not self.queue.empty():
            _, future = self.queue.get_nowait()
            if not future.done():
                future.cancel()

    def seconds_to_drain(self) -> float:
        """What the queued actions need at the bucket's rate (a Retry-After for a full queue)."""
        return (self.queue.qsize() + 1) / self.bucket.rate + self.jitter

    async def close(self) -> None:
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
        self._cancel_waiting()


class SendQueues:
    """The outboxes of every session of this process, by session key."""

    def __init__(self, per_minute: float, burst: int, jitter_seconds: float, capacity: int) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.jitter_seconds = jitter_seconds
        self.capacity = capacity
        self.accepted = 0  # actions taken into a queue since start (a counter for metrics and tests)
        self._outboxes: dict[str, _Outbox] = {}

    def _outbox(self, key: str) -> _Outbox:
        outbox = self._outboxes.get(key)
        if outbox is None:
            outbox = self._outboxes[key] = _Outbox(TokenBucket(self.per_minute, self.burst), self.jitter_seconds,
                                                   self.capacity)
        return outbox

    async def run(self, key: str, job: Job) -> Any:
        """Queue ``job`` behind the session's earlier actions and return its result when its turn
        came and it ran. RateLimited (429) when the session's queue is full."""
        outbox = self._outbox(key)
        try:
            future = outbox.accept(job)
            self.accepted += 1
        except asyncio.QueueFull:
            raise RateLimited(
                outbox.seconds_to_drain(),
                f"{self.capacity} messages are waiting to leave this WhatsApp session already; try again shortly.",
            ) from None
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():  # not the caller: the queue was dropped (server stopping, user deleted)
                raise Unavailable("The WhatsApp session stopped before this message could leave; it was not sent.") from None
            raise

    def depth(self, key: str) -> int:
        """Actions of the session not done yet: the one on its way and those waiting behind it."""
        outbox = self._outboxes.get(key)
        return outbox.queue.qsize() + outbox.busy if outbox else 0

    async def forget(self, key: str) -> None:
        """Drop a session's queue (a deleted user): its waiting actions are cancelled."""
        outbox = self._outboxes.pop(key, None)
        if outbox is not None:
            await outbox.close()

    async def close(self) -> None:
        for key in list(self._outboxes):
            await self.forget(key)

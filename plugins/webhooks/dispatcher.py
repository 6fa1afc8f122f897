"""Sending deliveries: claim what is due, POST it signed, record how it went.

One dispatcher per process. It claims due deliveries under a lease (``store.claim``: ``FOR UPDATE
SKIP LOCKED`` on MySQL, so several processes share the work), sends up to
``webhooks.concurrency`` at once, and writes each result while it still holds the lease. It
wakes when this process stored an event for an endpoint, when an attempt ends, and at least every
``webhooks.poll_interval`` (for retries that came due, and other processes' events).

- A 2xx answer delivers. Anything else (another status, a redirect, no answer within
  ``webhooks.timeout``, no connection, an address the SSRF guard refuses) is retried after an
  exponential back-off with jitter, from ``retry_initial`` doubling up to ``retry_max_interval``,
  until ``retry_for`` after the first attempt; then the delivery has failed.
- ``disable_after_failures`` failed deliveries in a row disable the endpoint (a success resets the
  count), and its owner's sockets get a ``webhook.disabled`` frame.
- Per endpoint, a delivery is not claimed while an earlier one of its chat (or, for events without
  a chat, of the session) is pending, so each chat's events arrive in order.
- A process killed mid-attempt leaves a lease that runs out after ``webhooks.lease`` seconds;
  the delivery is then sent again (with the same ``webhook-id``). At stop, attempts under way get
  a few seconds to end; the leases of those that do not are given back.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from server import outbound
from server.db import DatabaseUnavailable
from server.events import event, user_channel

from plugins.webhooks import store
from plugins.webhooks.metrics import WebhookStats
from plugins.webhooks.schemas import WebhookSchema
from plugins.webhooks.signing import SecretBox, SecretUnreadable, signed_headers

log = logging.getLogger("wamulti.webhooks")

QUEUE_FIGURES_EVERY = 5.0  # seconds between reads of the queue's figures (metrics on)
PRUNE_EVERY = 3600.0  # seconds between deletions of finished deliveries older than keep_days
STOP_GRACE = 5.0  # seconds attempts under way get to end at shutdown
DB_WARNING_EVERY = 60.0

WEBHOOK = WebhookSchema()


@dataclass(frozen=True)
class Attempt:
    outcome: str  # one of metrics.ATTEMPT_OUTCOMES
    code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


def backoff(attempts: int, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt, after ``attempts`` failed ones: ``initial`` doubling up to
    ``cap``, then a random point of its upper half (jitter, so failures do not come back in step)."""
    base = min(cap, initial * 2 ** max(0, attempts - 1))
    return base / 2 + (rng or random).uniform(0, base / 2)


async def send(delivery: dict[str, Any], box: SecretBox, settings: dict[str, Any]) -> Attempt:
    """One attempt: the stored body, signed now, POSTed to the endpoint."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        secret = box.open(delivery["secret_sealed"])
    except SecretUnreadable:
        return Attempt("secret", None, 0, "The signing secret cannot be read (the server's secret changed): "
                                          "rotate the webhook's secret.")
    body = delivery["payload"]
    headers = {**signed_headers(secret, delivery["event_id"], body), "Content-Type": "application/json"}
    try:
        answer = await outbound.post(
            delivery["url"], body.encode("utf-8"), headers=headers, timeout=settings["timeout"],
            max_response_bytes=settings["max_response_bytes"], allow_private=settings["allow_private_targets"],
            allow_http=True,
        )
    except outbound.OutboundError as exc:
        outcome = {"refused": "refused", "timeout": "timeout"}.get(exc.reason, "network")
        return Attempt(outcome, None, took(), str(exc))
    if 200 <= answer.code < 300:
        return Attempt("success", answer.code, took(), None)
    said = f"The endpoint answered {answer.code} {answer.reason}".rstrip() + "."
    if 300 <= answer.code < 400:
        said += " Redirects are not followed: register the URL it redirects to."
    return Attempt("http_error", answer.code, took(), said)


class Dispatcher:
    def __init__(self, app: Any, settings: dict[str, Any], box: SecretBox, stats: WebhookStats) -> None:
        self.app = app
        self.settings = settings
        self.box = box
        self.stats = stats
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._running: dict[int, tuple[asyncio.Task, str]] = {}  # delivery id -> (attempt, lease token)
        self._last_db_warning = -DB_WARNING_EVERY
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhooks-dispatcher")

    def nudge(self) -> None:
        """Something may be due: claim now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        last_figures = last_prune = float("-inf")
        while not self._stopping:
            self._wake.clear()
            try:
                await self._claim()
                now = time.monotonic()
                if self.stats.watch_queue and now - last_figures >= QUEUE_FIGURES_EVERY:
                    last_figures = now
                    self.stats.queue = await store.queue_figures(self.app.db)
                if now - last_prune >= PRUNE_EVERY:
                    last_prune = now
                    await store.prune(self.app.db, store.now_ms() - self.settings["keep_days"] * 86_400_000)
            except asyncio.CancelledError:
                raise
            except DatabaseUnavailable as exc:
                self._warn_db(exc)
            except Exception:  # noqa: BLE001 - the dispatcher outlives any one failure
                log.exception("the webhooks dispatcher failed; it goes on")
            await self._pause()

    async def _pause(self) -> None:
        """Until nudged, or ``poll_interval`` at most. ``asyncio.timeout``, not ``wait_for``: on
        Python 3.11 ``wait_for`` swallows a cancellation that comes as the wake-up does (a nudge
        at shutdown), and the loop would go on forever."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings["poll_interval"]):
                await self._wake.wait()

    async def _claim(self) -> None:
        free = self.settings["concurrency"] - len(self._running)
        if free <= 0 or self._stopping:
            return  # an attempt that ends wakes the loop
        token = uuid.uuid4().hex
        lease_ms = int(self.settings["lease"] * 1000)
        for delivery in await store.claim(self.app.db, limit=free, lease_ms=lease_ms, token=token):
            task = asyncio.create_task(self._attempt(delivery, token), name=f"webhook-delivery-{delivery['id']}")
            self._running[int(delivery["id"])] = (task, token)
            task.add_done_callback(lambda _, delivery_id=int(delivery["id"]): self._ended(delivery_id))

    def _ended(self, delivery_id: int) -> None:
        self._running.pop(delivery_id, None)
        self.nudge()  # a slot is free, and the next delivery of its chat may go

    async def _attempt(self, delivery: dict[str, Any], token: str) -> None:
        started = store.now_ms()
        attempt = await send(delivery, self.box, self.settings)
        self.stats.attempt(attempt.outcome, attempt.latency_ms / 1000)
        try:
            await self._record(delivery, token, started, attempt)
        except DatabaseUnavailable as exc:
            # The lease runs out and the delivery goes again, with the same webhook-id.
            self._warn_db(exc)
        except Exception:  # noqa: BLE001
            log.exception("could not record an attempt of webhook delivery %s", delivery["id"])

    async def _record(self, delivery: dict[str, Any], token: str, started: int, attempt: Attempt) -> None:
        cfg = self.settings
        if attempt.ok:
            if await store.record_success(self.app.db, delivery, token, started=started, code=attempt.code,
                                          latency_ms=attempt.latency_ms):
                self.stats.deliveries["delivered"] += 1
            return
        attempts = int(delivery["attempts"]) + 1
        first = int(delivery["first_attempt_at"] or started)
        next_at = store.now_ms() + int(backoff(attempts, cfg["retry_initial"], cfg["retry_max_interval"]) * 1000)
        error = attempt.error or "The attempt failed."
        if next_at - first <= cfg["retry_for"] * 1000:
            await store.record_retry(self.app.db, delivery, token, started=started, code=attempt.code,
                                     latency_ms=attempt.latency_ms, error=error, next_attempt_at=next_at)
            return
        recorded, disabled = await store.record_failure(
            self.app.db, delivery, token, started=started, code=attempt.code, latency_ms=attempt.latency_ms, error=error,
            disable_after=cfg["disable_after_failures"],
        )
        if recorded:
            self.stats.deliveries["failed"] += 1
        if disabled is not None:
            self.stats.disabled += 1
            log.warning("webhook endpoint %s of user %s disabled: %s deliveries in a row failed", disabled["id"],
                        disabled["user_id"], disabled["consecutive_failures"])
            frame = event("webhook.disabled", WEBHOOK.dump(store.endpoint_answer(disabled)))
            await self.app.events.publish(user_channel(int(disabled["user_id"])), frame)

    def _warn_db(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_db_warning >= DB_WARNING_EVERY:
            self._last_db_warning = now
            log.warning("webhooks: the database does not answer (%s); deliveries wait", exc)

    async def close(self) -> None:
        """Stop claiming; let attempts under way end for a few seconds; give back the leases of
        those that do not (their deliveries are due again at once, for the next start)."""
        self._stopping = True  # the loop ends even should the cancellation below be lost
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        running = dict(self._running)
        if not running:
            return
        grace = min(STOP_GRACE, self.settings["timeout"])
        await asyncio.wait([task for task, _ in running.values()], timeout=grace)
        stopped: dict[str, list[int]] = {}
        for delivery_id, (task, token) in running.items():
            if not task.done():
                task.cancel()
                stopped.setdefault(token, []).append(delivery_id)
        await asyncio.gather(*(task for task, _ in running.values()), return_exceptions=True)
        for token, ids in stopped.items():
            with contextlib.suppress(Exception):
                await store.release(self.app.db, ids, token)

"""The webhooks plugin at work in one process: what its routes and hooks call.

``app.state["webhooks"]`` holds it from ``startup`` to ``shutdown``: the settings, the box that
seals endpoint secrets, the dispatcher that sends deliveries, and the figures for the metrics.
"""
from __future__ import annotations

from typing import Any

from server import outbound
from server.errors import ApiError, Conflict, NotFound

from plugins.webhooks import events, store
from plugins.webhooks.dispatcher import Dispatcher
from plugins.webhooks.metrics import WebhookStats
from plugins.webhooks.signing import SecretBox, new_secret, server_secret

CHECK_TIMEOUT = 5.0  # seconds a URL's name may take to resolve when an endpoint is made or changed


class WebhooksService:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.settings: dict[str, Any] = dict(app.config["webhooks"])
        self.box = SecretBox(server_secret(app))
        self.stats = WebhookStats()
        self.dispatcher = Dispatcher(app, self.settings, self.box, self.stats)
        self._written = 0  # deliveries written by this process's transactions...
        self._nudged = 0  # ...when the dispatcher was last told

    def start(self) -> None:
        self.dispatcher.start()

    async def close(self) -> None:
        await self.dispatcher.close()

    # -- endpoints ---------------------------------------------------------------------------------
    async def check_url(self, url: str) -> None:
        """400 ``target_not_allowed`` for a URL deliveries may not go to: credentials in it, or a
        host that is, or resolves to, a non-public address (unless allow_private_targets). A name
        that does not resolve now is accepted: it is looked up again at each attempt."""
        try:
            await outbound.check_target(url, allow_private=self.settings["allow_private_targets"], allow_http=True,
                                        timeout=min(CHECK_TIMEOUT, self.settings["timeout"]))
        except outbound.OutboundError as exc:
            if exc.reason in ("unknown_host", "timeout"):
                return
            raise ApiError(400, f"This URL cannot receive webhooks: {exc}", code="target_not_allowed",
                           fields={"url": [str(exc)]}) from None

    async def create(self, user_id: int, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """A new endpoint and its secret (which is stored sealed and never shown again)."""
        await self.check_url(data["url"])
        secret = new_secret()
        row = await store.create_endpoint(
            self.app.db, user_id, url=data["url"], events=data["events"], description=data["description"],
            active=data["active"], secret_sealed=self.box.seal(secret), max_per_user=self.settings["max_per_user"],
        )
        return row, secret

    async def update(self, endpoint_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        if "url" in changes:
            await self.check_url(changes["url"])
        row = await store.update_endpoint(self.app.db, endpoint_id, changes)
        if row is None:
            raise NotFound("No such webhook.")
        if changes.get("active"):
            self.dispatcher.nudge()
        return row

    async def rotate_secret(self, endpoint_id: int) -> tuple[dict[str, Any], str]:
        """A new secret, in force for every attempt from now on (those waiting included)."""
        secret = new_secret()
        row = await store.set_secret(self.app.db, endpoint_id, self.box.seal(secret))
        if row is None:
            raise NotFound("No such webhook.")
        return row, secret

    async def redeliver(self, endpoint: dict[str, Any], delivery_id: int) -> dict[str, Any]:
        delivery = await store.get_delivery(self.app.db, int(endpoint["id"]), delivery_id)
        if delivery is None:
            raise NotFound("No such delivery.")
        if not endpoint["active"]:
            raise Conflict("The webhook is disabled: enable it first (PATCH it with active: true).")
        due = await store.redeliver(self.app.db, delivery_id)
        if due is None:
            raise Conflict("This delivery is being sent right now; ask again once the attempt is over.")
        self.dispatcher.nudge()
        return {**delivery, "status": "pending", "next_attempt_at": due, "finished_at": None}

    # -- events ------------------------------------------------------------------------------------
    async def enqueue(self, tx: Any, user_id: int, event: dict[str, Any]) -> None:
        """Write a delivery for each of the user's active endpoints that wants the event, in the
        transaction ``tx`` that stores the event (``whatsapp_event_stored``)."""
        wanting = [eid for eid, types in await store.subscriptions(tx, user_id) if events.wants(types, event.get("type"))]
        if not wanting:
            return
        event_id = events.event_id(user_id, event)
        order_key = events.order_key(event)
        payload = events.body(event_id, user_id, event)
        for endpoint_id in wanting:
            await store.enqueue(tx, endpoint_id, event_id=event_id, event_type=str(event.get("type"))[:64],
                                order_key=order_key, payload=payload)
        self._written += 1

    def stored(self) -> None:
        """An event was committed (``whatsapp_event``): wake the dispatcher if it brought deliveries."""
        if self._written != self._nudged:
            self._nudged = self._written
            self.dispatcher.nudge()

"""/api/webhooks: the signed-in user's webhook endpoints and their deliveries (an administrator may
reach anyone's, and list them all at /api/admin/webhooks)."""
from __future__ import annotations

from typing import Any

from server import access, openapi
from server.errors import NotFound, ValidationFailed
from server.handlers import BaseHandler
from server.pagination import PageSchema, page

from plugins.webhooks import store
from plugins.webhooks.schemas import (
    AdminWebhookListQuerySchema,
    DeliveryListQuerySchema,
    NewWebhookSchema,
    WebhookDeliverySchema,
    WebhookSchema,
)
from plugins.webhooks.service import WebhooksService

WEBHOOK = WebhookSchema()
NEW_WEBHOOK = NewWebhookSchema()
DELIVERY = WebhookDeliverySchema()
_NOT_FOUND = {404: "No such webhook, or it is another user's."}


def parse_id(text: str, message: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound(message)
    return int(text)


class _WebhooksBase(BaseHandler):
    @property
    def service(self) -> WebhooksService:
        return self.app.state["webhooks"]

    async def visible_endpoint(self, webhook_id: str) -> dict[str, Any]:
        """The endpoint, when the caller owns it or is an administrator; else 404 (nobody learns
        which ids other users' endpoints have)."""
        row = await store.get_endpoint(self.db, parse_id(webhook_id, "No such webhook."))
        user = self.current_user
        if row is None or (int(row["user_id"]) != int(user["id"]) and user["role"] != "admin"):
            raise NotFound("No such webhook.")
        return row

    def answer(self, row: dict[str, Any], status: int = 200) -> None:
        self.write_json(WEBHOOK.dump(store.endpoint_answer(row)), status=status)

    def answer_with_secret(self, row: dict[str, Any], secret: str, status: int) -> None:
        self.write_json(NEW_WEBHOOK.dump({**store.endpoint_answer(row), "secret": secret}), status=status)


class WebhooksHandler(_WebhooksBase):
    @access.user
    @openapi.doc(
        summary="List webhooks",
        description="The caller's webhook endpoints, newest first. A secret is never listed.",
        query=PageSchema, responses={200: openapi.list_of(WebhookSchema)},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        rows, total = await store.list_endpoints(self.db, int(self.current_user["id"]), args["limit"], args["offset"])
        self.write_json(page(WEBHOOK.dump([store.endpoint_answer(r) for r in rows], many=True), total, args))

    @access.user
    @openapi.doc(
        summary="Register a webhook",
        description="Deliveries of the caller's WhatsApp events (those named in `events`) are POSTed to `url`, "
        "signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature). The answer is the "
        "only one that holds the signing `secret`.",
        body=WebhookSchema,
        responses={201: openapi.Response(NewWebhookSchema, "The new endpoint, with its secret.",
                                         headers={"Location": "The endpoint's URL."})},
        errors={400: "The body is not JSON; or (`target_not_allowed`) the URL holds credentials, or its host is or "
                     "resolves to a loopback, private, link-local or other non-public address.",
                409: "The caller has webhooks.max_per_user endpoints already."},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        row, secret = await self.service.create(int(self.current_user["id"]), data)
        self.set_header("Location", f"/api/webhooks/{row['id']}")
        self.answer_with_secret(row, secret, 201)


class WebhookHandler(_WebhooksBase):
    @access.user
    @openapi.doc(summary="Get a webhook", description="The owner's, or any for an administrator.",
                 responses={200: WebhookSchema}, errors=_NOT_FOUND)
    async def get(self, webhook_id: str) -> None:
        self.answer(await self.visible_endpoint(webhook_id))

    @access.user
    @openapi.doc(
        summary="Change a webhook",
        description="Any of `url`, `events`, `description`, `active`. `active: true` enables an endpoint the server "
        "disabled: what waited for it is sent, in order, from now.",
        body=WebhookSchema(partial=True), responses={200: WebhookSchema},
        errors={**_NOT_FOUND, 400: "The body is not JSON; or (`target_not_allowed`) the new URL is refused, as when "
                                   "registering."},
    )
    async def patch(self, webhook_id: str) -> None:
        data = openapi.load_body(self)  # bad input is refused before anything is looked up
        if not data:
            raise ValidationFailed({"_schema": ["Send at least one field to change."]})
        row = await self.visible_endpoint(webhook_id)
        self.answer(await self.service.update(int(row["id"]), data))

    @access.user
    @openapi.doc(summary="Delete a webhook", description="The endpoint and its deliveries; nothing more is sent to it.",
                 responses={204: "Deleted."}, errors=_NOT_FOUND)
    async def delete(self, webhook_id: str) -> None:
        row = await self.visible_endpoint(webhook_id)
        await store.delete_endpoint(self.db, int(row["id"]))
        self.set_status(204)
        self.finish()


class WebhookSecretHandler(_WebhooksBase):
    @access.user
    @openapi.doc(
        summary="Rotate a webhook's secret",
        description="A new signing secret, shown only in this answer; every attempt from now on (those waiting "
        "included) is signed with it, and the old one verifies nothing more.",
        responses={200: NewWebhookSchema}, errors=_NOT_FOUND,
    )
    async def post(self, webhook_id: str) -> None:
        row = await self.visible_endpoint(webhook_id)
        row, secret = await self.service.rotate_secret(int(row["id"]))
        self.answer_with_secret(row, secret, 200)


class WebhookDeliveriesHandler(_WebhooksBase):
    @access.user
    @openapi.doc(
        summary="List a webhook's deliveries",
        description="Newest first: each event sent (or to send) to the endpoint, and how it went. Finished ones are "
        "kept webhooks.keep_days days.",
        query=DeliveryListQuerySchema, responses={200: openapi.list_of(WebhookDeliverySchema)}, errors=_NOT_FOUND,
    )
    async def get(self, webhook_id: str) -> None:
        args = openapi.load_query(self)
        row = await self.visible_endpoint(webhook_id)
        rows, total = await store.list_deliveries(self.db, int(row["id"]), args["status"], args["limit"], args["offset"])
        self.write_json(page(DELIVERY.dump([store.delivery_answer(r) for r in rows], many=True), total, args))


class WebhookRedeliverHandler(_WebhooksBase):
    @access.user
    @openapi.doc(
        summary="Send a delivery again",
        description="The delivery is pending again and due now, with a fresh retry window and the same webhook-id "
        "and body (signed anew). It keeps its place: a later pending delivery of its chat waits for it.",
        responses={202: openapi.Response(WebhookDeliverySchema, "Queued; see its status in the deliveries list.")},
        errors={404: "No such webhook or delivery, or they are another user's.",
                409: "The webhook is disabled, or an attempt of this delivery is under way."},
    )
    async def post(self, webhook_id: str, delivery_id: str) -> None:
        row = await self.visible_endpoint(webhook_id)
        delivery = await self.service.redeliver(row, parse_id(delivery_id, "No such delivery."))
        self.write_json(DELIVERY.dump(store.delivery_answer(delivery)), status=202)


class AdminWebhooksHandler(_WebhooksBase):
    @access.admin
    @openapi.doc(
        summary="List every user's webhooks",
        description="Every endpoint of the server, newest first (`userId` says whose); `userId` in the query keeps "
        "one user's. Administrators reach each through /api/webhooks/{webhook_id} as its owner does.",
        query=AdminWebhookListQuerySchema, responses={200: openapi.list_of(WebhookSchema)},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        rows, total = await store.list_endpoints(self.db, args["user_id"], args["limit"], args["offset"])
        self.write_json(page(WEBHOOK.dump([store.endpoint_answer(r) for r in rows], many=True), total, args))


_ID = r"/api/webhooks/(?P<webhook_id>[0-9]+)"
default_handlers = [
    (r"/api/webhooks", WebhooksHandler),
    (_ID, WebhookHandler),
    (_ID + r"/secret", WebhookSecretHandler),
    (_ID + r"/deliveries", WebhookDeliveriesHandler),
    (_ID + r"/deliveries/(?P<delivery_id>[0-9]+)/redeliver", WebhookRedeliverHandler),
    (r"/api/admin/webhooks", AdminWebhooksHandler),
]

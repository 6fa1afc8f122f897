"""/api/orders, /api/user/points and their administration: orders, cancellations, adjustments."""
from __future__ import annotations

from typing import Any

from server import access, openapi
from server.errors import Forbidden, NotFound
from server.handlers import BaseHandler
from server.pagination import PageSchema, page
from server.users import get_user

from plugins.orders import store
from plugins.orders.schemas import OrderListQuerySchema, OrderSchema, PointsEntrySchema, PointsSchema

ORDER = OrderSchema()
ENTRY = PointsEntrySchema()
POINTS = PointsSchema()


def parse_id(text: str, what: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound(f"No such {what}.")
    return int(text)


def is_admin(user: dict[str, Any]) -> bool:
    return user["role"] == "admin"


class OrdersHandler(BaseHandler):
    @access.user
    @openapi.doc(
        summary="List orders",
        description="Newest first. An ordinary user gets their own orders; an administrator everyone's, or one "
        "user's with `userId`. `status` and `productId` narrow the list.",
        query=OrderListQuerySchema,
        responses={200: openapi.list_of(OrderSchema)},
        errors={403: "userId names another user and the caller is not an administrator.",
                404: "No such user (userId, administrators)."},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        me = self.current_user
        buyer = args["user_id"]
        if not is_admin(me):
            if buyer is not None and buyer != int(me["id"]):
                raise Forbidden("Only administrators may list another user's orders.")
            buyer = int(me["id"])
        elif buyer is not None and await get_user(self.db, buyer) is None:
            raise NotFound("No such user.")
        rows, total = await store.list_orders(
            self.db, user_id=buyer, status=args["status"], product_id=args["product_id"],
            limit=args["limit"], offset=args["offset"],
        )
        self.write_json(page(ORDER.dump(rows, many=True), total, args))

    @access.user
    @openapi.doc(
        summary="Place an order",
        description="Buys `quantity` of a product for the caller. In one transaction the order is written, "
        "with the product's name, price and points as they are now, and `points` x `quantity` are credited "
        "to the caller's balance with a ledger entry of kind `order`.",
        body=OrderSchema,
        responses={201: openapi.Response(OrderSchema, "The order.", headers={"Location": "The order's URL."})},
        errors={422: "Invalid, missing or unknown fields, or a productId that names no product; `fields` names each.",
                409: "`points_limit`: the caller's balance would pass 2147483647 points."},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        order = await store.place_order(self.db, int(self.current_user["id"]), data["product_id"], data["quantity"])
        self.set_header("Location", f"/api/orders/{order['id']}")
        self.write_json(ORDER.dump(order), status=201)


class OrderHandler(BaseHandler):
    @access.user
    @openapi.doc(summary="Get an order",
                 description="The caller's own, or anyone's for an administrator; another user's is a 404.",
                 responses={200: OrderSchema})
    async def get(self, order_id: str) -> None:
        order = await store.get_order(self.db, parse_id(order_id, "order"))
        me = self.current_user
        if order is None or (int(order["user_id"]) != int(me["id"]) and not is_admin(me)):
            raise NotFound("No such order.")  # nobody learns which ids other users' orders have
        self.write_json(ORDER.dump(order))


class CancelOrderHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="Cancel an order",
        description="Marks a placed order `cancelled` and takes back the points it credited (a ledger entry "
        "of kind `order_cancelled`), exactly once however many cancellations arrive. This may leave the "
        "buyer's balance below 0.",
        responses={200: OrderSchema},
        errors={409: "`already_cancelled`: the order was cancelled before; nothing changed."},
    )
    async def post(self, order_id: str) -> None:
        order = await store.cancel_order(self.db, parse_id(order_id, "order"), int(self.current_user["id"]))
        self.write_json(ORDER.dump(order))


class MyPointsHandler(BaseHandler):
    @access.user
    @openapi.doc(
        summary="My points",
        description="The caller's balance and their ledger, newest entry first.",
        query=PageSchema,
        responses={200: PointsSchema},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        points = await store.points_of(self.db, int(self.current_user["id"]), args["limit"], args["offset"])
        if points is None:
            raise NotFound("No such user.")  # deleted while the request ran
        self.write_json(POINTS.dump(points))


class UserPointsHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="A user's points",
        description="The user's balance and ledger, newest entry first.",
        query=PageSchema,
        responses={200: PointsSchema},
    )
    async def get(self, user_id: str) -> None:
        args = openapi.load_query(self)
        points = await store.points_of(self.db, parse_id(user_id, "user"), args["limit"], args["offset"])
        if points is None:
            raise NotFound("No such user.")
        self.write_json(POINTS.dump(points))

    @access.admin
    @openapi.doc(
        summary="Adjust a user's points",
        description="Adds `delta` (negative: takes away) to the user's balance, with a ledger entry of kind "
        "`adjustment` that records the reason and the administrator. The answer is that entry; its "
        "`balance` is the new balance.",
        body=PointsEntrySchema,
        responses={201: PointsEntrySchema},
        errors={409: "`insufficient_points`: the balance would fall below 0 (the error's `points` is the balance); "
                     "`points_limit`: it would pass 2147483647. Nothing changed."},
    )
    async def post(self, user_id: str) -> None:
        uid = parse_id(user_id, "user")
        data = openapi.load_body(self)
        entry = await store.adjust_points(self.db, uid, data["delta"], data["reason"], int(self.current_user["id"]))
        self.write_json(ENTRY.dump(entry), status=201)


default_handlers = [
    (r"/api/orders", OrdersHandler),
    (r"/api/orders/(?P<order_id>[0-9]+)", OrderHandler),
    (r"/api/admin/orders/(?P<order_id>[0-9]+)/cancel", CancelOrderHandler),
    (r"/api/user/points", MyPointsHandler),
    (r"/api/admin/users/(?P<user_id>[0-9]+)/points", UserPointsHandler),
]

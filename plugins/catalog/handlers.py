"""GET/POST /api/products, GET/PUT/DELETE /api/products/:id."""
from __future__ import annotations

from typing import Any

from server import access, openapi
from server.cache import answer_page, invalidate
from server.db import Queries
from server.errors import NotFound, ValidationFailed
from server.handlers import BaseHandler
from server.pagination import LIKE_ESCAPE, SearchPageSchema, like_pattern, page
from server.timeutil import iso, now_db

from plugins.catalog.schemas import ProductSchema

COLUMNS = "id, name, description, price_cents, points, image, created_at, updated_at"
TABLE = "products"  # the page cache's name for this list (server.cache)
PRODUCT = ProductSchema()
UPDATE = ProductSchema(partial=True)


def product_json(row: dict[str, Any]) -> dict[str, Any]:
    """A product row as docs/api.md answers it: what ``ProductSchema().dump(row)`` gives, without
    marshmallow's per-field machinery (a list of 50 products spent most of its time there)."""
    cents = row["price_cents"]
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "price": None if cents is None else f"{int(cents) // 100}.{int(cents) % 100:02d}",
        "points": int(row["points"]),
        "image": row["image"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def parse_product_id(text: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound("No such product.")
    return int(text)


async def get_product(db: Queries, pid: int) -> dict[str, Any]:
    row = await db.fetch_one(f"SELECT {COLUMNS} FROM products WHERE id = ?", (pid,))
    if row is None:
        raise NotFound("No such product.")
    return row


async def count_products(db: Queries) -> int:
    return int(await db.fetch_value("SELECT COUNT(*) AS n FROM products"))


class ProductsHandler(BaseHandler):
    @access.public
    @openapi.doc(
        summary="List products",
        description="Oldest first. `q` finds products whose name contains it (case-insensitive).",
        query=SearchPageSchema,
        responses={200: openapi.list_of(ProductSchema)},
    )
    async def get(self) -> None:
        await answer_page(self, TABLE, self.render_page)

    async def render_page(self) -> dict[str, Any]:
        args = openapi.load_query(self)
        where, params = "", []
        if args["q"]:
            where, params = f" WHERE name LIKE ? {LIKE_ESCAPE}", [like_pattern(args["q"])]
        total = await self.db.fetch_value(f"SELECT COUNT(*) AS n FROM products{where}", params)
        rows = await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM products{where} ORDER BY id LIMIT ? OFFSET ?",
            [*params, args["limit"], args["offset"]],
        )
        return page([product_json(row) for row in rows], total, args)

    @access.admin
    @openapi.doc(
        summary="Create a product",
        description="Only `name` is required; `price` defaults to \"0.00\", `points` to 0.",
        body=PRODUCT,
        responses={201: openapi.Response(ProductSchema, "The new product.", headers={"Location": "The product's URL."})},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        now = now_db()
        result = await self.db.execute(
            "INSERT INTO products (name, description, price_cents, points, image, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (data["name"], data["description"], data["price_cents"], data["points"], data["image"], now, now),
        )
        await invalidate(self.app, TABLE)
        row = await get_product(self.db, result.lastrowid)
        self.set_header("Location", f"/api/products/{row['id']}")
        self.write_json(product_json(row), status=201)


class ProductHandler(BaseHandler):
    @access.public
    @openapi.doc(summary="Get a product", responses={200: ProductSchema})
    async def get(self, product_id: str) -> None:
        self.write_json(product_json(await get_product(self.db, parse_product_id(product_id))))

    @access.admin
    @openapi.doc(
        summary="Change a product",
        description="Send any subset of the fields (at least one); `updated_at` changes.",
        body=UPDATE,
        responses={200: ProductSchema},
    )
    async def put(self, product_id: str) -> None:
        pid = parse_product_id(product_id)
        data = openapi.load_body(self)
        if not data:
            raise ValidationFailed({"_schema": ["Send at least one field to change."]})
        await get_product(self.db, pid)
        changes = {**data, "updated_at": now_db()}
        assignments = ", ".join(f"{column} = ?" for column in changes)
        await self.db.execute(f"UPDATE products SET {assignments} WHERE id = ?", (*changes.values(), pid))
        await invalidate(self.app, TABLE)
        self.write_json(product_json(await get_product(self.db, pid)))

    @access.admin
    @openapi.doc(summary="Delete a product", responses={204: "Deleted."})
    async def delete(self, product_id: str) -> None:
        result = await self.db.execute("DELETE FROM products WHERE id = ?", (parse_product_id(product_id),))
        if result.rowcount == 0:
            raise NotFound("No such product.")
        await invalidate(self.app, TABLE)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/products", ProductsHandler),
    (r"/api/products/(?P<product_id>[0-9]+)", ProductHandler),
]

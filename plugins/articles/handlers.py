"""GET/POST /api/articles, GET/PUT/DELETE /api/articles/:id."""
from __future__ import annotations

from typing import Any

from server import access, openapi
from server.cache import answer_page, invalidate
from server.db import Queries
from server.errors import NotFound, ValidationFailed
from server.handlers import BaseHandler
from server.pagination import LIKE_ESCAPE, SearchPageSchema, like_pattern, page
from server.timeutil import now_db

from plugins.articles.schemas import ArticleSchema

COLUMNS = "id, title, content, author, image, created_at, updated_at"
TABLE = "articles"  # the page cache's name for this list (server.cache)
ARTICLE = ArticleSchema()
UPDATE = ArticleSchema(partial=True)


def parse_article_id(text: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound("No such article.")
    return int(text)


async def get_article(db: Queries, aid: int) -> dict[str, Any]:
    row = await db.fetch_one(f"SELECT {COLUMNS} FROM articles WHERE id = ?", (aid,))
    if row is None:
        raise NotFound("No such article.")
    return row


async def count_articles(db: Queries) -> int:
    return int(await db.fetch_value("SELECT COUNT(*) AS n FROM articles"))


class ArticlesHandler(BaseHandler):
    @access.public
    @openapi.doc(
        summary="List articles",
        description="Newest first. `q` finds articles whose title contains it (case-insensitive).",
        query=SearchPageSchema,
        responses={200: openapi.list_of(ArticleSchema)},
    )
    async def get(self) -> None:
        await answer_page(self, TABLE, self.render_page)

    async def render_page(self) -> dict[str, Any]:
        args = openapi.load_query(self)
        where, params = "", []
        if args["q"]:
            where, params = f" WHERE title LIKE ? {LIKE_ESCAPE}", [like_pattern(args["q"])]
        total = await self.db.fetch_value(f"SELECT COUNT(*) AS n FROM articles{where}", params)
        rows = await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM articles{where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, args["limit"], args["offset"]],
        )
        return page(ARTICLE.dump(rows, many=True), total, args)

    @access.admin
    @openapi.doc(
        summary="Publish an article",
        description="Only `title` is required; `author` defaults to your fullName, or your username.",
        body=ARTICLE,
        responses={201: openapi.Response(ArticleSchema, "The new article.", headers={"Location": "The article's URL."})},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        author = data.get("author") or self.current_user["full_name"] or self.current_user["username"]
        now = now_db()
        result = await self.db.execute(
            "INSERT INTO articles (title, content, author, image, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (data["title"], data["content"], author, data["image"], now, now),
        )
        await invalidate(self.app, TABLE)
        row = await get_article(self.db, result.lastrowid)
        self.set_header("Location", f"/api/articles/{row['id']}")
        self.write_json(ARTICLE.dump(row), status=201)


class ArticleHandler(BaseHandler):
    @access.public
    @openapi.doc(summary="Get an article", responses={200: ArticleSchema})
    async def get(self, article_id: str) -> None:
        self.write_json(ARTICLE.dump(await get_article(self.db, parse_article_id(article_id))))

    @access.admin
    @openapi.doc(
        summary="Change an article",
        description="Send any subset of the fields (at least one); `updated_at` changes.",
        body=UPDATE,
        responses={200: ArticleSchema},
    )
    async def put(self, article_id: str) -> None:
        aid = parse_article_id(article_id)
        data = openapi.load_body(self)
        if not data:
            raise ValidationFailed({"_schema": ["Send at least one field to change."]})
        await get_article(self.db, aid)
        changes = {**data, "updated_at": now_db()}
        assignments = ", ".join(f"{column} = ?" for column in changes)
        await self.db.execute(f"UPDATE articles SET {assignments} WHERE id = ?", (*changes.values(), aid))
        await invalidate(self.app, TABLE)
        self.write_json(ARTICLE.dump(await get_article(self.db, aid)))

    @access.admin
    @openapi.doc(summary="Delete an article", responses={204: "Deleted."})
    async def delete(self, article_id: str) -> None:
        result = await self.db.execute("DELETE FROM articles WHERE id = ?", (parse_article_id(article_id),))
        if result.rowcount == 0:
            raise NotFound("No such article.")
        await invalidate(self.app, TABLE)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/articles", ArticlesHandler),
    (r"/api/articles/(?P<article_id>[0-9]+)", ArticleHandler),
]

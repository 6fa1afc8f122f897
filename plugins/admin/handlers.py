"""The administration endpoints: users and their roles, stats, live WhatsApp sessions."""
from __future__ import annotations

import logging
from typing import Any

from server import access, openapi
from server.errors import NotFound
from server.handlers import BaseHandler
from server.pagination import LIKE_ESCAPE, PageSchema, like_pattern, page
from server.plugins import call_hook
from server.schemas import UserSchema
from server.users import COLUMNS, public_user

from plugins.admin.schemas import RoleSchema, StatsSchema, UserSearchSchema, WhatsAppSessionSchema
from plugins.admin.service import change_role, delete_user, merge_stats

log = logging.getLogger("wamulti.admin")


def parse_user_id(text: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound("No such user.")
    return int(text)


class UsersHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="List users",
        description="Oldest first. `role` keeps one role; `q` finds users whose username, fullName or email contains it.",
        query=UserSearchSchema,
        responses={200: openapi.list_of(UserSchema)},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        conditions, params = [], []
        if args["role"]:
            conditions.append("role = ?")
            params.append(args["role"])
        if args["q"]:
            conditions.append(
                f"(username LIKE ? {LIKE_ESCAPE} OR full_name LIKE ? {LIKE_ESCAPE} OR email LIKE ? {LIKE_ESCAPE})"
            )
            params.extend([like_pattern(args["q"])] * 3)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        total = await self.db.fetch_value(f"SELECT COUNT(*) AS n FROM users{where}", params)
        rows = await self.db.fetch_all(
            f"SELECT {COLUMNS} FROM users{where} ORDER BY id LIMIT ? OFFSET ?", [*params, args["limit"], args["offset"]]
        )
        self.write_json(page([public_user(row) for row in rows], total, args))


class UserRoleHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="Change a user's role",
        description="The user's tokens stop working, so they sign in again with the new role. "
        "Setting the role a user already has changes nothing.",
        body=RoleSchema,
        responses={200: UserSchema},
        errors={409: "It would leave no administrator."},
    )
    async def put(self, user_id: str) -> None:
        uid = parse_user_id(user_id)
        data = openapi.load_body(self)
        self.write_json(public_user(await change_role(self.db, uid, data["role"])))


class UserHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="Delete a user",
        description="Their chats and messages are deleted and their WhatsApp session is stopped.",
        responses={204: "Deleted."},
        errors={409: "This is the last administrator."},
    )
    async def delete(self, user_id: str) -> None:
        uid = parse_user_id(user_id)
        await delete_user(self.db, uid)
        try:
            await call_hook(self.plugins, "user_deleted", app=self.app, user_id=uid)
        except Exception:  # the user is gone either way; the failing plugin is logged
            log.exception("[%s] a user_deleted hook failed for user %d", self.request_id, uid)
        self.set_status(204)
        self.finish()


class StatsHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="Server statistics",
        description="Users, products, articles, WhatsApp sessions, websockets, the process and the database; "
        "each plugin adds its part.",
        responses={200: StatsSchema},
    )
    async def get(self) -> None:
        self.write_json(merge_stats(await call_hook(self.plugins, "admin_stats", app=self.app)))


class WhatsAppSessionsHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="Live WhatsApp sessions",
        description="Every session that is not STOPPED, by user id.",
        query=PageSchema,
        responses={200: openapi.list_of(WhatsAppSessionSchema)},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        rows: list[dict[str, Any]] = []
        for result in await call_hook(self.plugins, "whatsapp_sessions", app=self.app):
            rows.extend(row for row in result or [] if row.get("state") != "STOPPED")
        rows.sort(key=lambda row: int(row["userId"]))
        chosen = rows[args["offset"] : args["offset"] + args["limit"]]
        names = await self._usernames([int(row["userId"]) for row in chosen])
        items = [
            {
                "userId": int(row["userId"]),
                "username": names.get(int(row["userId"])),
                "state": row["state"],
                "phone": row.get("phone"),
                "since": row.get("since"),
                "lastActivity": row.get("lastActivity"),
            }
            for row in chosen
        ]
        self.write_json(page(items, len(rows), args))

    async def _usernames(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        found = await self.db.fetch_all(f"SELECT id, username FROM users WHERE id IN ({marks})", ids)
        return {int(row["id"]): row["username"] for row in found}


default_handlers = [
    (r"/api/admin/users", UsersHandler),
    (r"/api/admin/users/(?P<user_id>[0-9]+)", UserHandler),
    (r"/api/admin/users/(?P<user_id>[0-9]+)/role", UserRoleHandler),
    (r"/api/admin/stats", StatsHandler),
    (r"/api/admin/whatsapp-sessions", WhatsAppSessionsHandler),
]

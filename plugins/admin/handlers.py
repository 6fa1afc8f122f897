"""The administration endpoints: users and their roles, and the stats page."""
from __future__ import annotations

from server import access, openapi
from server.errors import NotFound
from server.handlers import BaseHandler
from server.pagination import LIKE_ESCAPE, like_pattern, page
from server.plugins import call_hook, notify_hook
from server.schemas import UserSchema
from server.users import COLUMNS, public_user, publish_revocation

from plugins.admin.schemas import RoleSchema, StatsSchema, UserSearchSchema
from plugins.admin.service import change_role, delete_user, merge_stats


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
            # Usernames are ASCII and lower case (stored canonical, compared byte for byte on
            # MySQL): text outside ASCII cannot be in one, and MySQL refuses to compare them.
            searched = {"full_name": args["q"], "email": args["q"]}
            if args["q"].isascii():
                searched["username"] = args["q"].lower()
            conditions.append("(" + " OR ".join(f"{column} LIKE ? {LIKE_ESCAPE}" for column in searched) + ")")
            params.extend(like_pattern(text) for text in searched.values())
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
        user = await change_role(self.db, uid, data["role"])
        await publish_revocation(self.app, user)  # their sockets with the old role close now
        self.write_json(public_user(user))


class UserHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="One user",
        responses={200: UserSchema},
        errors={404: "No such user."},
    )
    async def get(self, user_id: str) -> None:
        row = await self.db.fetch_one(f"SELECT {COLUMNS} FROM users WHERE id = ?", (parse_user_id(user_id),))
        if row is None:
            raise NotFound("No such user.")
        self.write_json(public_user(row))

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
        await publish_revocation(self.app, uid, deleted=True)
        await notify_hook(self.plugins, "user_deleted", app=self.app, user_id=uid)
        self.set_status(204)
        self.finish()


class StatsHandler(BaseHandler):
    @access.admin
    @openapi.doc(
        summary="Server statistics",
        description="Users, the process and the database; each enabled plugin adds its part under a key of "
        "its own: `products` (catalog), `articles`, `whatsapp` `{sessions, byState, maxSessions}`, "
        "`websocket` `{connections}`.",
        responses={200: StatsSchema},
    )
    async def get(self) -> None:
        self.write_json(merge_stats(await call_hook(self.plugins, "admin_stats", app=self.app)))


default_handlers = [
    (r"/api/admin/users", UsersHandler),
    (r"/api/admin/users/(?P<user_id>[0-9]+)", UserHandler),
    (r"/api/admin/users/(?P<user_id>[0-9]+)/role", UserRoleHandler),
    (r"/api/admin/stats", StatsHandler),
]

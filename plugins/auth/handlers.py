"""POST /api/auth/register, POST /api/auth/login, GET/PUT /api/user/profile."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from server import access, openapi
from server.db import IntegrityError
from server.errors import ApiError, Conflict, RateLimited, Unauthorized
from server.handlers import BaseHandler
from server.schemas import UserSchema
from server.timeutil import now_db
from server.users import COLUMNS, get_user, public_user

from plugins.auth.schemas import LoginSchema, ProfileUpdateSchema, RegisterSchema
from plugins.auth.service import AuthService


class SignedInSchema(Schema):
    token = fields.String(required=True, metadata={"description": "A JWT: send it as Authorization: Bearer <token>."})
    user = fields.Nested(UserSchema, required=True)


class AuthHandler(BaseHandler):
    @property
    def auth(self) -> AuthService:
        return self.app.state["auth"]


class RegisterHandler(AuthHandler):
    @access.public
    @openapi.doc(
        summary="Create an account",
        description="New users get the role `user`. Answers a token, as a login does.",
        body=RegisterSchema,
        responses={201: SignedInSchema},
        errors={403: "Registration is closed on this server.", 409: "That username is taken (in any case)."},
    )
    async def post(self) -> None:
        if not self.config["auth"]["allow_registration"]:
            raise ApiError(403, "Registration is closed on this server; ask an administrator.")
        data = openapi.load_body(self)
        password_hash = await self.auth.hash_password(data["password"])
        now = now_db()
        try:
            result = await self.db.execute(
                "INSERT INTO users (username, password_hash, full_name, email, role, points, token_version,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, 'user', 0, 0, ?, ?)",
                (data["username"], password_hash, data["full_name"], data["email"], now, now),
            )
        except IntegrityError:
            raise Conflict("That username is taken.", fields={"username": ["That username is taken."]}) from None
        user = await get_user(self.db, result.lastrowid)
        self.write_json({"token": self.auth.issue_token(user), "user": public_user(user)}, status=201)


class LoginHandler(AuthHandler):
    @access.public
    @openapi.doc(
        summary="Sign in",
        description="The same 401 answers an unknown username and a wrong password.",
        body=LoginSchema,
        responses={200: SignedInSchema},
        errors={401: "Wrong username or password.", 429: "Too many failed logins for this username; see Retry-After."},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        username = data["username"]
        wait = self.auth.throttle.retry_after(username)
        if wait > 0:
            raise RateLimited(wait, "Too many failed logins for this username; try again later.")
        row = await self.db.fetch_one(f"SELECT {COLUMNS}, password_hash FROM users WHERE username = ?", (username,))
        ok = await self.auth.check_password(data["password"], row["password_hash"] if row else None)
        if not ok:
            self.auth.throttle.failed(username)
            raise Unauthorized("Wrong username or password.")
        self.auth.throttle.succeeded(username)
        self.write_json({"token": self.auth.issue_token(row), "user": public_user(row)})


class ProfileHandler(AuthHandler):
    @access.user
    @openapi.doc(summary="The signed-in user", responses={200: UserSchema})
    def get(self) -> None:
        self.write_json(public_user(self.current_user))

    @access.user
    @openapi.doc(
        summary="Change the signed-in user's profile",
        description="Any subset of the fields. A new `password` needs the right `currentPassword`.",
        body=ProfileUpdateSchema,
        responses={200: UserSchema},
        errors={401: "No valid token, or a new password without the right currentPassword."},
    )
    async def put(self) -> None:
        data = openapi.load_body(self)
        user = self.current_user
        changes: dict[str, Any] = {k: data[k] for k in ("full_name", "email") if k in data}
        if "password" in data:
            row = await self.db.fetch_one("SELECT password_hash FROM users WHERE id = ?", (user["id"],))
            current = data.get("current_password")
            if not current or not await self.auth.check_password(current, row["password_hash"] if row else None):
                raise Unauthorized("To set a new password, send the right currentPassword.")
            changes["password_hash"] = await self.auth.hash_password(data["password"])
        if changes:
            changes["updated_at"] = now_db()
            assignments = ", ".join(f"{column} = ?" for column in changes)
            await self.db.execute(f"UPDATE users SET {assignments} WHERE id = ?", (*changes.values(), user["id"]))
            user = await get_user(self.db, user["id"])
        self.write_json(public_user(user))


default_handlers = [
    (r"/api/auth/register", RegisterHandler),
    (r"/api/auth/login", LoginHandler),
    (r"/api/user/profile", ProfileHandler),
]

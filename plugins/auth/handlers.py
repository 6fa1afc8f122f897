"""POST /api/auth/register, POST /api/auth/login, GET/PUT /api/user/profile."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from server import access, openapi
from server.errors import ApiError, RateLimited, Unauthorized
from server.handlers import BaseHandler
from server.schemas import UserSchema
from server.timeutil import now_db
from server.users import COLUMNS, get_user, public_user, publish_revocation

from plugins.auth import usernames
from plugins.auth.accounts import create_user
from plugins.auth.schemas import LoginSchema, ProfileUpdateSchema, RegisterSchema
from plugins.auth.service import AuthService


class SignedInSchema(Schema):
    token = fields.String(required=True, metadata={"description": "A JWT: send it as Authorization: Bearer <token>."})
    user = fields.Nested(UserSchema, required=True)


class ProfileAnswerSchema(UserSchema):
    token = fields.String(
        metadata={"description": "Only after a new password: a fresh token. Every other token of the user stops working."}
    )


class AuthHandler(BaseHandler):
    @property
    def auth(self) -> AuthService:
        return self.app.state["auth"]


class RegisterHandler(AuthHandler):
    @access.public
    @openapi.doc(
        summary="Create an account",
        description="New users get the role `user`. Answers a token, as a login does. The username is "
        "stored in its canonical form (NFKC, lower case, no surrounding spaces), and one that looks like a "
        "taken name (`rn`/`m`, `0`/`o`, `1`/`l`, `_`/`.`/`-`) is refused as taken.",
        body=RegisterSchema,
        responses={201: SignedInSchema},
        errors={
            403: "Registration is closed on this server.",
            409: "That username, or one that looks like it, is taken.",
            429: "Too many registrations from this address; see Retry-After.",
        },
    )
    async def post(self) -> None:
        if not self.config["auth"]["allow_registration"]:
            raise ApiError(403, "Registration is closed on this server; ask an administrator.")
        data = openapi.load_body(self)
        username = data["username"]  # canonical (schemas.Username)
        wait = self.auth.registrations.take(self.request.remote_ip or "")
        if wait > 0:
            raise RateLimited(wait, "Too many accounts created from this address; try again later.")
        password_hash = await self.auth.hash_password(data["password"])
        user_id = await create_user(
            self.db, username, password_hash, full_name=data["full_name"], email=data["email"], role="user"
        )
        user = await get_user(self.db, user_id)
        self.write_json({"token": self.auth.issue_token(user), "user": public_user(user)}, status=201)


class LoginHandler(AuthHandler):
    @access.public
    @openapi.doc(
        summary="Sign in",
        description="The same 401, in the same time, answers an unknown username and a wrong password. "
        "Wrong passwords are counted per account and per client address: past the limits an address "
        "that failed is refused for a while (429), while the account's owner signing in from an "
        "address with no failures is not.",
        body=LoginSchema,
        responses={200: SignedInSchema},
        errors={401: "Wrong username or password.", 429: "Too many failed logins; see Retry-After."},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        username = usernames.canonical(data["username"])
        # A name outside the alphabet belongs to nobody: never ask the database, whose collation
        # would find a lookalike.
        row = None
        if usernames.is_valid(username):
            row = await self.db.fetch_one(f"SELECT {COLUMNS}, password_hash FROM users WHERE username = ?", (username,))
        user_id = int(row["id"]) if row else None
        address = self.request.remote_ip or ""
        wait = self.auth.throttle.retry_after(user_id, address)
        if wait > 0:
            raise RateLimited(wait, "Too many failed logins; try again later.")
        ok = await self.auth.check_password(data["password"], row["password_hash"] if row else None)
        if not ok:
            self.auth.throttle.failed(user_id, address)
            raise Unauthorized("Wrong username or password.")
        self.auth.throttle.succeeded(user_id, address)
        self.write_json({"token": self.auth.issue_token(row), "user": public_user(row)})


class ProfileHandler(AuthHandler):
    @access.user
    @openapi.doc(summary="The signed-in user", responses={200: UserSchema})
    def get(self) -> None:
        self.write_json(public_user(self.current_user))

    @access.user
    @openapi.doc(
        summary="Change the signed-in user's profile",
        description="Any subset of the fields. A new `password` needs the right `currentPassword`; the answer "
        "then carries a fresh `token`, every other token of the user stops working and their open sockets close.",
        body=ProfileUpdateSchema,
        responses={200: ProfileAnswerSchema},
        errors={401: "No valid token, or a new password without the right currentPassword."},
    )
    async def put(self) -> None:
        data = openapi.load_body(self)
        user = self.current_user
        changes: dict[str, Any] = {k: data[k] for k in ("full_name", "email") if k in data}
        new_password = "password" in data
        if new_password:
            row = await self.db.fetch_one("SELECT password_hash FROM users WHERE id = ?", (user["id"],))
            current = data.get("current_password")
            if not current or not await self.auth.check_password(current, row["password_hash"] if row else None):
                raise Unauthorized("To set a new password, send the right currentPassword.")
            changes["password_hash"] = await self.auth.hash_password(data["password"])
        if changes:
            changes["updated_at"] = now_db()
            assignments = ", ".join(f"{column} = ?" for column in changes)
            bump = ", token_version = token_version + 1" if new_password else ""
            await self.db.execute(f"UPDATE users SET {assignments}{bump} WHERE id = ?", (*changes.values(), user["id"]))
            user = await get_user(self.db, user["id"])
        answer = public_user(user)
        if new_password:
            # Every other token of this user stops working, and their open sockets close now;
            # the caller stays signed in with this one.
            answer["token"] = self.auth.issue_token(user)
            await publish_revocation(self.app, user)
        self.write_json(answer)


default_handlers = [
    (r"/api/auth/register", RegisterHandler),
    (r"/api/auth/login", LoginHandler),
    (r"/api/user/profile", ProfileHandler),
]

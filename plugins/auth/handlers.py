"""POST /api/auth/register, POST /api/auth/login, GET/PUT /api/user/profile."""
from __future__ import annotations

from typing import Any

from server import access
from server.db import IntegrityError
from server.errors import ApiError, Conflict, RateLimited, Unauthorized
from server.handlers import BaseHandler
from server.timeutil import now_db
from server.users import COLUMNS, get_user, public_user

from plugins.auth.schemas import LoginSchema, ProfileUpdateSchema, RegisterSchema
from plugins.auth.service import AuthService


class AuthHandler(BaseHandler):
    @property
    def auth(self) -> AuthService:
        return self.app.state["auth"]


class RegisterHandler(AuthHandler):
    @access.public
    async def post(self) -> None:
        if not self.config["auth"]["allow_registration"]:
            raise ApiError(403, "Registration is closed on this server; ask an administrator.")
        data = self.load(RegisterSchema())
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
    async def post(self) -> None:
        data = self.load(LoginSchema())
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
    def get(self) -> None:
        self.write_json(public_user(self.current_user))

    @access.user
    async def put(self) -> None:
        data = self.load(ProfileUpdateSchema())
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

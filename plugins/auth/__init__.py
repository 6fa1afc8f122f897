"""The auth plugin: registration, login, JWTs, profiles and `wamulti create-admin`."""
from __future__ import annotations

from typing import Any

from server import hookimpl
from server.errors import Unauthorized
from server.users import get_user

from plugins.auth.commands import add_create_admin
from plugins.auth.handlers import default_handlers
from plugins.auth.schemas import AuthConfigSchema
from plugins.auth.service import AuthService


@hookimpl
def config_schema() -> dict[str, type]:
    return {"auth": AuthConfigSchema}


@hookimpl
def register_routes(app: Any) -> list:
    return default_handlers


@hookimpl
async def startup(app: Any) -> None:
    service = app.state["auth"] = AuthService.from_app(app)
    await service.stand_in_hash()  # made now, so no login waits for it


@hookimpl
async def shutdown(app: Any) -> None:
    service = app.state.pop("auth", None)
    if service is not None:
        await service.aclose()  # the hashing processes have exited when this returns


@hookimpl
async def authenticate(app: Any, token: str) -> dict[str, Any] | None:
    service = app.state.get("auth") or AuthService.from_app(app)
    claims = service.decode_token(token)  # raises Unauthorized
    user = await get_user(app.db, claims["sub"])
    if user is None:
        raise Unauthorized("The token's user no longer exists.")
    if int(user["token_version"]) != claims.get("ver") or user["role"] != claims.get("role"):
        raise Unauthorized("The token was revoked; sign in again.")
    return user


@hookimpl
def register_commands(subparsers: Any) -> None:
    add_create_admin(subparsers)

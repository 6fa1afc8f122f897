"""/api/keys: the signed-in user's API keys (an administrator may read and revoke anyone's)."""
from __future__ import annotations

from typing import Any

from server import access, openapi
from server.errors import Forbidden, NotFound, ValidationFailed
from server.handlers import BaseHandler
from server.pagination import page
from server.users import get_user
from server.ws import revoke_credential

from plugins.apikeys import keys, store
from plugins.apikeys.schemas import (
    ApiKeyListQuerySchema,
    ApiKeySchema,
    ApiKeyUpdateSchema,
    NewApiKeySchema,
)

KEY = ApiKeySchema()
NEW_KEY = NewApiKeySchema()
_DB_TIME = "%Y-%m-%d %H:%M:%S"


def parse_key_id(text: str) -> int:
    if len(text) > 18:  # past any id a BIGINT holds
        raise NotFound("No such API key.")
    return int(text)


class ApiKeysHandler(BaseHandler):
    @access.user
    @openapi.doc(
        summary="List API keys",
        description="The caller's keys, newest first; an administrator may add `userId` to list another "
        "user's. A key itself is never listed, only its `prefix`.",
        query=ApiKeyListQuerySchema,
        responses={200: openapi.list_of(ApiKeySchema)},
        errors={403: "userId names another user and the caller is not an administrator.",
                404: "No such user (userId)."},
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        owner = int(self.current_user["id"])
        if args["user_id"] is not None and args["user_id"] != owner:
            if self.current_user["role"] != "admin":
                raise Forbidden("Only administrators may list another user's API keys.")
            if await get_user(self.db, args["user_id"]) is None:
                raise NotFound("No such user.")
            owner = args["user_id"]
        rows, total = await store.list_keys(self.db, owner, args["limit"], args["offset"])
        self.write_json(page(KEY.dump([store.key_answer(row) for row in rows], many=True), total, args))

    @access.user
    @openapi.doc(
        summary="Make an API key",
        description="A key acts as the caller, with the caller's role, until it is deleted, expires, or the "
        "caller's role or password changes. A `readOnly` key may only read. The answer is the only one that "
        "holds the key: the server keeps its hash alone.",
        body=KEY,
        responses={201: openapi.Response(NewApiKeySchema, "The new key, with the key itself.",
                                         headers={"Location": "The key's URL."})},
        errors={409: "The caller holds apikeys.max_per_user keys already."},
    )
    async def post(self) -> None:
        data = openapi.load_body(self)
        expires = data["expires_at"]
        row, key = await store.create_key(
            self.db, int(self.current_user["id"]), data["name"], read_only=data["read_only"],
            expires_at=expires.strftime(_DB_TIME) if expires is not None else None,
            max_per_user=self.config["apikeys"]["max_per_user"],
        )
        self.set_header("Location", f"/api/keys/{row['id']}")
        self.write_json(NEW_KEY.dump({**store.key_answer(row), "key": key}), status=201)


class ApiKeyHandler(BaseHandler):
    async def _visible_key(self, key_id: str) -> dict[str, Any]:
        """The key, when the caller owns it or is an administrator; else 404 (nobody learns
        which ids other users' keys have)."""
        row = await store.get_key(self.db, parse_key_id(key_id))
        user = self.current_user
        if row is None or (int(row["user_id"]) != int(user["id"]) and user["role"] != "admin"):
            raise NotFound("No such API key.")
        return row

    @access.user
    @openapi.doc(summary="Get an API key", description="The owner's, or any for an administrator.",
                 responses={200: ApiKeySchema})
    async def get(self, key_id: str) -> None:
        self.write_json(KEY.dump(store.key_answer(await self._visible_key(key_id))))

    @access.user
    @openapi.doc(summary="Rename an API key", body=ApiKeyUpdateSchema, responses={200: ApiKeySchema})
    async def patch(self, key_id: str) -> None:
        data = openapi.load_body(self)  # bad input is refused before anything is looked up
        if not data:
            raise ValidationFailed({"_schema": ["Send at least one field to change."]})
        row = await self._visible_key(key_id)
        await store.rename_key(self.db, int(row["id"]), data["name"])
        self.write_json(KEY.dump(store.key_answer({**row, "name": data["name"]})))

    @access.user
    @openapi.doc(
        summary="Revoke an API key",
        description="The key stops working at once: requests with it are 401, and sockets opened with it "
        "close (4401).",
        responses={204: "Revoked."},
    )
    async def delete(self, key_id: str) -> None:
        row = await self._visible_key(key_id)
        if await store.delete_key(self.db, int(row["id"])):
            await revoke_credential(self.app, keys.credential_id(row["id"]))
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/keys", ApiKeysHandler),
    (r"/api/keys/(?P<key_id>[0-9]+)", ApiKeyHandler),
]

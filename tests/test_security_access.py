"""Who may call what: every route and websocket command of every plugin, for every kind of caller.

The table below is the access contract of docs/api.md written out.
``test_the_table_covers_every_route_method_and_websocket_command`` fails when a route, a method or
a websocket command is added without a row here, so a new endpoint cannot ship without someone
deciding who may call it.

Callers:
- ``anonymous``: no token;
- ``user``: a signed-in ordinary user; where the path names a user, it names one that does not exist
  (an ordinary user learns nothing about other ids: 403, never 404);
- ``same``: an ordinary user, the path naming them (only for routes that name a user);
- ``other``: an ordinary user, the path naming someone else (only for routes that name a user);
- ``admin``: an administrator, the path naming the same user as for ``same``;
- ``admin_missing``: an administrator, the path naming a user that does not exist;
- ``key``: a full API key of the user a route's ``same`` stands for (``user`` where the path names
  nobody), sent as ``X-Api-Key``: answered as that user's JWT;
- ``read_only_key``: a read-only key of the same user: answered as the JWT for GET and HEAD, 403
  for any other method that is not public;
- ``admin_key``, ``admin_read_only_key``: the same two kinds of key of the administrator.

WhatsApp sessions run with ``whatsapp.chromium`` set to ``/bin/false``: a start is accepted (202)
and the session fails at once, so no browser is launched.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.web import RequestHandler

from server import access, hookimpl
from server.handlers import BaseHandler
from tests.support.server import TEST_PASSWORD, bearer
from tests.support.ws import Client, connect

MISSING_USER = 10**9
TABLES = ("users", "products", "articles", "wa_sessions", "chats", "messages", "message_reactions", "wa_media",
          "wa_lids", "wa_contacts", "wa_number_checks", "api_keys", "orders", "points_ledger",
          "webhook_endpoints", "webhook_deliveries")
# A key's last use is written when it authenticates, refused or not: not a change a refusal made.
SNAPSHOT_COLUMNS = {"api_keys": "id, user_id, name, public_id, secret_hash, read_only, expires_at"}
KEY_CALLERS = {"key", "read_only_key", "admin_key", "admin_read_only_key"}
PUBLIC = {"anonymous": 200, "user": 200, "admin": 200} | dict.fromkeys(KEY_CALLERS, 200)
SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}
# /metrics on, for callers on this machine (no token): public, like the other operations routes.
SERVER = {"whatsapp": SESSION, "metrics": {"enabled": True}, "apikeys": {"max_per_user": 1000}}

# What only Alice may see: an answer to anyone else must not contain it.
SECRET_CHAT = "79990000001@c.us"
SECRET_CHAT_NAME = "alice-secret-chat"
SECRET_BODY = "alice-secret-message-body"
SECRET_EMAIL = "alice-secret@example.com"
SECRETS = (SECRET_CHAT, SECRET_CHAT_NAME, SECRET_BODY, SECRET_EMAIL)


@dataclass(frozen=True)
class Row:
    """One (method, route) of the server: the request to send and the answer for each caller.

    ``path`` may name ``{subject}`` (the user the route acts on), ``{product}``, ``{article}``
    (a fresh one for each request) and ``{chat}``. ``fresh_subject``: the subject is a new user
    for each request (for routes that delete or change users), else Alice.
    """

    path: str
    expect: dict[str, int]
    body: Any = None
    fresh_subject: bool = False  # also a fresh key of Bob's for ``{apikey}``
    settle: bool = False  # the call starts or stops a session: wait until its events are stored

    @property
    def names_user(self) -> bool:
        return "{subject}" in self.path


def owner_or_admin(ok: int, *, writes: bool = False) -> dict[str, int]:
    read_only = 403 if writes else ok
    return {"anonymous": 401, "user": 403, "same": ok, "other": 403, "admin": ok, "admin_missing": 404,
            "key": ok, "read_only_key": read_only, "admin_key": ok, "admin_read_only_key": read_only}


def admin_only(ok: int, *, writes: bool = False) -> dict[str, int]:
    return {"anonymous": 401, "user": 403, "admin": ok,
            "key": 403, "read_only_key": 403, "admin_key": ok, "admin_read_only_key": 403 if writes else ok}


def signed_in(ok: int, *, writes: bool = False) -> dict[str, int]:
    read_only = 403 if writes else ok
    return {"anonymous": 401, "user": ok, "admin": ok,
            "key": ok, "read_only_key": read_only, "admin_key": ok, "admin_read_only_key": read_only}


def _register_body() -> dict[str, str]:
    return {"username": f"new_{uuid.uuid4().hex[:10]}", "password": TEST_PASSWORD}


PRODUCT_ID = r"/api/products/(?P<product_id>[0-9]+)"
ORDER_ID = r"/api/orders/(?P<order_id>[0-9]+)"
ARTICLE_ID = r"/api/articles/(?P<article_id>[0-9]+)"
KEY_ID = r"/api/keys/(?P<key_id>[0-9]+)"
WEBHOOK_ID = r"/api/webhooks/(?P<webhook_id>[0-9]+)"
WA = r"/api/whatsapp/{}/(?P<user_id>[0-9]+)"
MSG = r"/api/whatsapp/messages/(?P<user_id>[0-9]+)/(?P<message_id>[^/]{1,256})"
GROUP = r"/api/whatsapp/groups/(?P<user_id>[0-9]+)/(?P<group_id>[^/]{1,128})"
MESSAGE_ID = "false_79990000001@c.us_SECRET"  # the seeded message (seed_chat)

# (METHOD, Tornado pattern as registered) -> Row
TABLE: dict[tuple[str, str], Row] = {
    # core
    ("GET", r"/api/health"): Row("/api/health", PUBLIC),
    ("GET", r"/api/db-status"): Row("/api/db-status", PUBLIC),
    ("GET", r"/api/openapi.json"): Row("/api/openapi.json", PUBLIC),
    ("GET", r"/api/docs"): Row("/api/docs", PUBLIC),
    ("GET", r"/api/docs/(?P<asset>[A-Za-z0-9_.-]+)"): Row("/api/docs/swagger-ui.css", PUBLIC),
    ("GET", r"/ws"): Row("/ws?userId={subject}", owner_or_admin(101)),
    ("GET", r"/metrics"): Row("/metrics", PUBLIC),
    # auth
    ("POST", r"/api/auth/register"): Row(
        "/api/auth/register", {"anonymous": 201, "user": 201, "admin": 201} | dict.fromkeys(KEY_CALLERS, 201),
        body=_register_body,
    ),
    ("POST", r"/api/auth/login"): Row(
        "/api/auth/login", PUBLIC, body={"username": "bob", "password": TEST_PASSWORD}
    ),
    ("GET", r"/api/user/profile"): Row("/api/user/profile", signed_in(200)),
    ("PUT", r"/api/user/profile"): Row("/api/user/profile", signed_in(200, writes=True), body={"fullName": "Changed"}),
    # apikeys: a key named in the path is a fresh one of Bob's
    ("GET", r"/api/keys"): Row("/api/keys", signed_in(200)),
    ("POST", r"/api/keys"): Row("/api/keys", signed_in(201, writes=True), body={"name": "Matrix"}),
    ("GET", KEY_ID): Row("/api/keys/{apikey}", signed_in(200)),
    ("PATCH", KEY_ID): Row("/api/keys/{apikey}", signed_in(200, writes=True), body={"name": "Renamed"}),
    ("DELETE", KEY_ID): Row("/api/keys/{apikey}", signed_in(204, writes=True)),
    # catalog
    ("GET", r"/api/products"): Row("/api/products", PUBLIC),
    ("POST", r"/api/products"): Row("/api/products", admin_only(201, writes=True), body={"name": "Mug", "price": "1.50"}),
    ("GET", PRODUCT_ID): Row("/api/products/{product}", PUBLIC),
    ("PUT", PRODUCT_ID): Row("/api/products/{product}", admin_only(200, writes=True), body={"price": "0.01"}),
    ("DELETE", PRODUCT_ID): Row("/api/products/{product}", admin_only(204, writes=True)),
    # orders: product 1 is the catalog rows' first fresh product (never deleted); order 1 is
    # the first the POST row places, Bob's (the ``user`` caller).
    ("GET", r"/api/orders"): Row("/api/orders", signed_in(200)),
    ("POST", r"/api/orders"): Row("/api/orders", signed_in(201, writes=True), body={"productId": 1, "quantity": 1}),
    ("GET", ORDER_ID): Row("/api/orders/1", signed_in(200)),
    ("POST", r"/api/admin/orders/(?P<order_id>[0-9]+)/cancel"): Row(
        "/api/admin/orders/999999999/cancel", admin_only(404, writes=True)),  # no such order
    ("GET", r"/api/user/points"): Row("/api/user/points", signed_in(200)),
    ("GET", r"/api/admin/users/(?P<user_id>[0-9]+)/points"): Row(
        "/api/admin/users/{subject}/points", owner_or_admin(200) | {"same": 403, "key": 403, "read_only_key": 403}),
    ("POST", r"/api/admin/users/(?P<user_id>[0-9]+)/points"): Row(
        "/api/admin/users/{subject}/points", owner_or_admin(201, writes=True) | {"same": 403, "key": 403},
        body={"delta": 1, "reason": "Access matrix"}),
    # webhooks: webhook 1 is the first the POST row registers, Bob's (the ``user`` caller); an
    # administrator reaches it too. A public address literal: no name to resolve, no private target.
    ("GET", r"/api/webhooks"): Row("/api/webhooks", signed_in(200)),
    ("POST", r"/api/webhooks"): Row("/api/webhooks", signed_in(201, writes=True),
                                    body={"url": "https://93.184.215.14/hook", "events": ["message"]}),
    ("GET", WEBHOOK_ID): Row("/api/webhooks/1", signed_in(200)),
    ("PATCH", WEBHOOK_ID): Row("/api/webhooks/1", signed_in(200, writes=True), body={"description": "Changed"}),
    ("DELETE", WEBHOOK_ID): Row("/api/webhooks/999999999", signed_in(404, writes=True)),  # no such webhook
    ("POST", WEBHOOK_ID + r"/secret"): Row("/api/webhooks/1/secret", signed_in(200, writes=True)),
    ("GET", WEBHOOK_ID + r"/deliveries"): Row("/api/webhooks/1/deliveries", signed_in(200)),
    ("POST", WEBHOOK_ID + r"/deliveries/(?P<delivery_id>[0-9]+)/redeliver"): Row(
        "/api/webhooks/1/deliveries/999999999/redeliver", signed_in(404, writes=True)),  # no such delivery
    ("GET", r"/api/admin/webhooks"): Row("/api/admin/webhooks", admin_only(200)),
    # articles
    ("GET", r"/api/articles"): Row("/api/articles", PUBLIC),
    ("POST", r"/api/articles"): Row("/api/articles", admin_only(201, writes=True), body={"title": "News"}),
    ("GET", ARTICLE_ID): Row("/api/articles/{article}", PUBLIC),
    ("PUT", ARTICLE_ID): Row("/api/articles/{article}", admin_only(200, writes=True), body={"title": "Changed"}),
    ("DELETE", ARTICLE_ID): Row("/api/articles/{article}", admin_only(204, writes=True)),
    # admin
    ("GET", r"/api/admin/users"): Row("/api/admin/users", admin_only(200)),
    ("GET", r"/api/admin/users/(?P<user_id>[0-9]+)"): Row(
        "/api/admin/users/{subject}", owner_or_admin(200) | {"same": 403, "key": 403, "read_only_key": 403}),
    ("DELETE", r"/api/admin/users/(?P<user_id>[0-9]+)"): Row(
        "/api/admin/users/{subject}", owner_or_admin(204, writes=True) | {"same": 403, "key": 403}, fresh_subject=True
    ),
    ("PUT", r"/api/admin/users/(?P<user_id>[0-9]+)/role"): Row(
        "/api/admin/users/{subject}/role", owner_or_admin(200, writes=True) | {"same": 403, "key": 403},
        body={"role": "admin"}, fresh_subject=True,
    ),
    ("GET", r"/api/admin/stats"): Row("/api/admin/stats", admin_only(200)),
    ("GET", r"/api/admin/whatsapp-sessions"): Row("/api/admin/whatsapp-sessions", admin_only(200)),
    ("GET", r"/api/admin/nodes"): Row("/api/admin/nodes", admin_only(200)),
    ("GET", r"/api/admin/whatsapp-sessions/(?P<user_id>[0-9]+)/screenshot"): Row(
        "/api/admin/whatsapp-sessions/{subject}/screenshot", owner_or_admin(409)),  # no browser runs
    # whatsapp: the caller's own session, or any session for an admin
    ("POST", WA.format("start")): Row("/api/whatsapp/start/{subject}", owner_or_admin(202, writes=True), settle=True),
    ("GET", WA.format("status")): Row("/api/whatsapp/status/{subject}", owner_or_admin(200)),
    ("GET", WA.format("qr")): Row("/api/whatsapp/qr/{subject}", owner_or_admin(409)),  # no QR is showing
    ("POST", WA.format("send")): Row(
        "/api/whatsapp/send/{subject}", owner_or_admin(409, writes=True), body={"to": "+7 999 000 00 02", "message": "hi"}
    ),  # not connected
    ("GET", WA.format("chats")): Row("/api/whatsapp/chats/{subject}", owner_or_admin(200)),
    ("GET", r"/api/whatsapp/chats/(?P<user_id>[0-9]+)/(?P<chat_id>[^/]+)/messages"): Row(
        "/api/whatsapp/chats/{subject}/{chat}/messages", owner_or_admin(200)
    ),
    ("GET", WA.format("search")): Row("/api/whatsapp/search/{subject}?q=alice-secret-message", owner_or_admin(200)),
    ("POST", WA.format("disconnect")): Row("/api/whatsapp/disconnect/{subject}", owner_or_admin(200, writes=True), settle=True),
    ("POST", WA.format("restart")): Row("/api/whatsapp/restart/{subject}", owner_or_admin(202, writes=True), settle=True),
    # one message of the session (the seeded one), and what can be done with it
    ("GET", MSG): Row("/api/whatsapp/messages/{subject}/" + MESSAGE_ID, owner_or_admin(200)),
    ("PUT", MSG): Row("/api/whatsapp/messages/{subject}/" + MESSAGE_ID, owner_or_admin(409, writes=True),
                      body={"message": "changed"}),  # not connected
    ("DELETE", MSG): Row("/api/whatsapp/messages/{subject}/" + MESSAGE_ID, owner_or_admin(409, writes=True)),
    ("POST", MSG + "/react"): Row("/api/whatsapp/messages/{subject}/" + MESSAGE_ID + "/react",
                                  owner_or_admin(409, writes=True), body={"emoji": "👍"}),
    ("POST", r"/api/whatsapp/chats/(?P<user_id>[0-9]+)/(?P<chat_id>[^/]+)/read"): Row(
        "/api/whatsapp/chats/{subject}/{chat}/read", owner_or_admin(409, writes=True)),
    # media: a URL upload is refused before any connection (a private address)
    ("POST", WA.format("media")): Row("/api/whatsapp/media/{subject}", owner_or_admin(422, writes=True),
                                      body={"url": "https://10.0.0.1/x.png"}),
    ("GET", r"/api/whatsapp/media/(?P<user_id>[0-9]+)/(?P<media_id>[A-Za-z0-9_-]{16,64})"):
        Row("/api/whatsapp/media/{subject}/" + "M" * 32, owner_or_admin(404)),
    ("DELETE", r"/api/whatsapp/media/(?P<user_id>[0-9]+)/(?P<media_id>[A-Za-z0-9_-]{16,64})"):
        Row("/api/whatsapp/media/{subject}/" + "M" * 32, owner_or_admin(404, writes=True)),
    ("GET", MSG + "/media"): Row("/api/whatsapp/messages/{subject}/" + MESSAGE_ID + "/media", owner_or_admin(404)),  # text
    # people, groups and linking by code (the session is not connected: live questions are 409)
    ("POST", WA.format("pair")): Row("/api/whatsapp/pair/{subject}", owner_or_admin(409, writes=True),
                                     body={"phone": "+7 999 000 00 03"}, settle=True),  # its browser fails
    ("GET", WA.format("contacts")): Row("/api/whatsapp/contacts/{subject}", owner_or_admin(200)),
    ("GET", r"/api/whatsapp/contacts/(?P<user_id>[0-9]+)/(?P<chat_id>[^/]{1,128})/picture"): Row(
        "/api/whatsapp/contacts/{subject}/{chat}/picture", owner_or_admin(409)),
    ("GET", r"/api/whatsapp/check/(?P<user_id>[0-9]+)/(?P<phone>[^/]{1,64})"): Row(
        "/api/whatsapp/check/{subject}/79990000003", owner_or_admin(409)),
    ("GET", WA.format("groups")): Row("/api/whatsapp/groups/{subject}", owner_or_admin(409)),
    ("POST", WA.format("groups")): Row("/api/whatsapp/groups/{subject}", owner_or_admin(409, writes=True),
                                       body={"name": "Team", "participants": ["+7 999 000 00 03"]}),
    ("GET", GROUP): Row("/api/whatsapp/groups/{subject}/120363000000001@g.us", owner_or_admin(409)),
    ("POST", GROUP + "/participants"): Row("/api/whatsapp/groups/{subject}/120363000000001@g.us/participants",
                                           owner_or_admin(409, writes=True), body={"add": ["+7 999 000 00 03"]}),
    ("POST", WA.format("clear-session")): Row(
        "/api/whatsapp/clear-session/{subject}", owner_or_admin(200, writes=True), settle=True
    ),
    # webui
    ("GET", r"/"): Row("/", PUBLIC),
    ("GET", r"/static/webui/(?P<path>[A-Za-z0-9_./-]+)"): Row("/static/webui/api.js", PUBLIC),
    ("HEAD", r"/static/webui/(?P<path>[A-Za-z0-9_./-]+)"): Row("/static/webui/api.js", PUBLIC),
}

# Websocket commands, sent on a socket that is open: ``same`` is Alice on her own channel,
# ``admin`` an administrator watching Alice's channel, ``user`` Bob on his own channel, ``key`` and
# ``read_only_key`` Alice on her own channel with her two kinds of API key.
# (Sockets of anonymous callers and of users watching someone else never open: the /ws row.)
# The value: None for an ok reply, else the status of the error reply. A read-only key may send
# only the commands that read (``server.ws.read_command``).
def reads() -> dict[str, int | None]:
    return {"same": None, "admin": None, "user": None, "key": None, "read_only_key": None}


def writes(status: int) -> dict[str, int | None]:
    return {"same": status, "admin": status, "user": status, "key": status, "read_only_key": 403}


COMMANDS: dict[str, tuple[dict[str, Any], dict[str, int | None]]] = {
    "ping": ({}, reads()),
    "chats.list": ({}, reads()),
    "messages.list": ({"chatId": SECRET_CHAT}, reads()),
    "message.send": ({"to": "+7 999 000 00 02", "message": "hi"}, writes(409)),  # not connected
    "message.react": ({"id": MESSAGE_ID, "emoji": "👍"}, writes(409)),
    "message.edit": ({"id": MESSAGE_ID, "message": "changed"}, writes(409)),
    "message.delete": ({"id": MESSAGE_ID}, writes(409)),
    "chat.read": ({"chatId": SECRET_CHAT}, writes(409)),
}
CALLERS_NAMING_A_USER = {"anonymous", "user", "same", "other", "admin", "admin_missing"} | KEY_CALLERS
CALLERS = {"anonymous", "user", "admin"} | KEY_CALLERS


def served(app: Any) -> set[tuple[str, str]]:
    """(METHOD, pattern) of every handler method the server routes, read from its route list."""
    out = set()
    for route in app.routes:
        pattern, handler = route[0], route[1]
        for method in access.HTTP_METHODS:
            fn = getattr(handler, method, None)
            if fn is None or fn is getattr(RequestHandler, method, None):
                continue
            if method == "options" and fn is BaseHandler.options:
                continue  # the CORS pre-flight every handler answers the same way (tested below)
            out.add((method.upper(), pattern))
    return out


# -- the world the table runs in -----------------------------------------------------------
@dataclass
class World:
    server: Any
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # "<person>" and "<person>_read_only" -> API key

    async def snapshot(self) -> dict[str, list]:
        db = self.server.app.db
        return {
            table: await db.fetch_all(f"SELECT {SNAPSHOT_COLUMNS.get(table, '*')} FROM {table} ORDER BY 1, 2")
            for table in TABLES
        }

    async def settle(self) -> None:
        """Wait until session events stop changing rows (a start that fails at once stores FAILED)."""
        previous, stable = None, 0
        for _ in range(200):
            current = await self.snapshot()
            stable = stable + 1 if current == previous else 0
            if stable >= 3:
                return
            previous = current
            await asyncio.sleep(0.03)
        raise AssertionError("the database kept changing after a session call")

    async def fresh_product(self) -> int:
        response = await self.server.client.post("/api/products", headers=bearer(self.tokens["admin"]), json={"name": "Fresh"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def fresh_article(self) -> int:
        response = await self.server.client.post("/api/articles", headers=bearer(self.tokens["admin"]), json={"title": "Fresh"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def fresh_key(self, token: str, **body: Any) -> dict[str, Any]:
        response = await self.server.client.post("/api/keys", headers=bearer(token), json={"name": "Fresh", **body})
        assert response.status_code == 201, response.text
        return response.json()


async def make_world(server: Any) -> World:
    world = World(server)
    world.tokens["admin"], world.users["admin"] = await server.admin()
    world.tokens["alice"], world.users["alice"] = await server.register("alice", email=SECRET_EMAIL)
    world.tokens["bob"], world.users["bob"] = await server.register("bob")
    for person in ("admin", "alice", "bob"):
        world.keys[person] = (await world.fresh_key(world.tokens[person]))["key"]
        world.keys[f"{person}_read_only"] = (await world.fresh_key(world.tokens[person], readOnly=True))["key"]
    await seed_chat(server, world.users["alice"]["id"])
    return world


async def seed_chat(server: Any, user_id: int) -> None:
    from plugins.whatsapp import store

    msg = {
        "id": "false_79990000001@c.us_SECRET", "chatId": SECRET_CHAT, "from": SECRET_CHAT, "to": "79990000000@c.us",
        "body": SECRET_BODY, "type": "chat", "fromMe": False, "ack": 0, "timestamp": 1_700_000_000,
    }
    await store.save_chat(server.app.db, user_id, {"id": SECRET_CHAT, "name": SECRET_CHAT_NAME, "timestamp": 1_700_000_000})
    await store.save_message(server.app.db, user_id, msg)
    await store.touch_chat_for_message(server.app.db, user_id, msg)


def acts_as(caller: str, row: Row) -> str:
    """Whose JWT a caller's answer must equal: ``alice``/``victim`` (the subject), ``bob``, ``admin``."""
    if caller in ("same", "key", "read_only_key"):
        return "subject" if row.names_user else "bob"
    return {"anonymous": "anonymous", "user": "bob", "other": "bob", "admin_missing": "admin_missing"}.get(caller, "admin")


async def credential_headers(world: World, caller: str, subject: dict | None) -> dict[str, str]:
    """How a caller proves who it is: a JWT as a bearer token, an API key as X-Api-Key."""
    if caller == "anonymous":
        return {}
    if caller in ("same", "key", "read_only_key") and subject is not None:
        if caller == "same":
            return bearer(subject["token"])
        if subject["id"] == world.users["alice"]["id"]:
            return {"X-Api-Key": world.keys["alice_read_only" if caller == "read_only_key" else "alice"]}
        made = await world.fresh_key(subject["token"], readOnly=caller == "read_only_key")  # a fresh victim's
        return {"X-Api-Key": made["key"]}
    if caller in KEY_CALLERS:
        person = "admin" if caller.startswith("admin") else "bob"
        return {"X-Api-Key": world.keys[f"{person}_read_only" if caller.endswith("read_only_key") else person]}
    return bearer(world.tokens["admin" if caller.startswith("admin") else "bob"])


async def request_for(world: World, row: Row, caller: str) -> tuple[str, dict[str, str], Any, dict | None]:
    """(path, headers, body, subject) of one caller's request."""
    subject = None
    if row.names_user:
        if row.fresh_subject:
            token, subject = await world.server.register(f"victim_{uuid.uuid4().hex[:8]}")
        else:
            token, subject = world.tokens["alice"], world.users["alice"]
        subject = {**subject, "token": token}
    headers = await credential_headers(world, caller, subject)
    subject_id = MISSING_USER if caller in ("user", "admin_missing") or subject is None else subject["id"]
    path = row.path
    if "{product}" in path:
        path = path.replace("{product}", str(await world.fresh_product()))
    if "{article}" in path:
        path = path.replace("{article}", str(await world.fresh_article()))
    if "{apikey}" in path:
        path = path.replace("{apikey}", str((await world.fresh_key(world.tokens["bob"]))["id"]))
    path = path.replace("{subject}", str(subject_id)).replace("{chat}", SECRET_CHAT)
    body = row.body() if callable(row.body) else row.body
    return path, headers, body, subject


async def call_websocket(world: World, path: str, headers: dict[str, str]) -> tuple[int, str, str]:
    """Open /ws: (101, the hello frame, "") or (the refusal's status, its body, its WWW-Authenticate)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = world.server.ws_url + path.removeprefix("/ws")
    try:
        client = Client(await websocket_connect(HTTPRequest(url, headers=headers)))
    except HTTPClientError as exc:
        return exc.code, exc.response.body.decode(), exc.response.headers.get("WWW-Authenticate", "")
    try:
        hello = await client.next_of("hello")
    finally:
        client.close()
    return 101, json.dumps(hello), ""


async def check_row(world: World, key: tuple[str, str], row: Row, caller: str, problems: list[str]) -> None:
    method, _ = key
    path, headers, body, subject = await request_for(world, row, caller)
    where = f"{caller:>13} {method} {path}"
    want = row.expect[caller]
    denied = want in (401, 403, 404)
    before = await world.snapshot() if denied else None
    alice_session = world.server.app.state["whatsapp"].status(world.users["alice"]["id"])
    if path.startswith("/ws"):
        status, text, www_authenticate = await call_websocket(world, path, headers)
    else:
        response = await world.server.client.request(method, path, headers=headers, json=body)
        status, text = response.status_code, response.text
        www_authenticate = response.headers.get("WWW-Authenticate", "")
    if status != want:
        problems.append(f"{where}: {status}, expected {want}: {text[:200]}")
        return
    if denied:
        error = json.loads(text)
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[want]
        if set(error) != {"error"} or error["error"]["status"] != want or error["error"]["code"] != code:
            problems.append(f"{where}: not the error shape of docs/api.md: {text[:200]}")
        if want == 401 and "Bearer" not in www_authenticate:
            problems.append(f"{where}: 401 without WWW-Authenticate: Bearer")
        leaked = [s for s in SECRETS if s in text]
        if leaked:
            problems.append(f"{where}: the refusal shows {leaked}")
        if await world.snapshot() != before:
            problems.append(f"{where}: refused, yet a row changed")
        if world.server.app.state["whatsapp"].status(world.users["alice"]["id"]) != alice_session:
            problems.append(f"{where}: refused, yet Alice's session changed")
        return
    check_answer(world, method, path, acts_as(caller, row), subject, text, problems, where)
    if row.settle:
        await world.server.client.post(f"/api/whatsapp/disconnect/{world.users['alice']['id']}", headers=bearer(world.tokens["admin"]))
        await world.settle()


def check_answer(
    world: World, method: str, path: str, who: str, subject: dict | None, text: str, problems: list[str], where: str
) -> None:
    """An allowed call answers about the right user, and shows no one else's data. ``who``: whose
    JWT the caller stands for (see ``acts_as``)."""
    alice = world.users["alice"]
    body = json.loads(text) if text.lstrip().startswith(("{", "[")) else None
    if path == "/api/user/profile":
        me = world.users["bob"] if who == "bob" else world.users["admin"]
        if body["id"] != me["id"]:
            problems.append(f"{where}: answered the profile of user {body['id']}, not the caller's")
    if path.startswith("/ws") and body["data"]["userId"] != alice["id"]:
        problems.append(f"{where}: opened the channel of user {body['data']['userId']}")
    if path.startswith("/api/whatsapp/"):
        if isinstance(body, dict) and "userId" in body and body["userId"] != alice["id"]:
            problems.append(f"{where}: answered the session of user {body['userId']}")
        own = ("/api/whatsapp/chats/", "/api/whatsapp/search/")
        if method == "GET" and path.startswith(own) and not (SECRET_CHAT in text and SECRET_BODY in text):
            problems.append(f"{where}: Alice's own chat is missing from the answer")
    if path.startswith("/api/admin/users/") and method == "PUT" and body["id"] != subject["id"]:
        problems.append(f"{where}: changed user {body['id']} instead of {subject['id']}")
    if who not in ("subject", "admin") and any(s in text for s in (SECRET_BODY, SECRET_CHAT_NAME, SECRET_EMAIL)):
        problems.append(f"{where}: the answer shows Alice's data")


# -- the tests ---------------------------------------------------------------------------------
async def test_the_table_covers_every_route_method_and_websocket_command(make_server):
    server = await make_server(**SERVER)
    registered = served(server.app)
    missing = sorted(registered - set(TABLE))
    stale = sorted(set(TABLE) - registered)
    assert not missing, f"routes with no row in the access table (add one saying who may call them): {missing}"
    assert not stale, f"rows for routes the server does not serve: {stale}"
    commands = set(server.app.state["websocket"].commands)
    assert commands == set(COMMANDS), f"websocket commands not in the table: {commands ^ set(COMMANDS)}"


async def test_the_table_agrees_with_each_methods_access_mark(make_server):
    """A public method answers anonymous callers; a user method refuses them; an admin one refuses users."""
    server = await make_server(**SERVER)
    handlers = {route[0]: route[1] for route in server.app.routes}
    for (method, pattern), row in TABLE.items():
        level = access.level_of(getattr(handlers[pattern], method.lower()))
        expected_callers = CALLERS_NAMING_A_USER if row.names_user else CALLERS
        assert set(row.expect) == expected_callers, f"{method} {pattern}: callers {sorted(row.expect)}"
        if level == "public":
            assert row.expect["anonymous"] < 400, f"{method} {pattern} is public"
        else:
            assert row.expect["anonymous"] == 401, f"{method} {pattern} is {level}: anonymous must get 401"
        if level == "admin":
            assert row.expect["user"] == 403, f"{method} {pattern} is admin-only: users must get 403"
        # A full key is answered as its user's JWT; a read-only one too for reads, else 403.
        as_user = row.expect["same" if row.names_user else "user"]
        assert row.expect["key"] == as_user, f"{method} {pattern}: a key must be answered as its user's JWT"
        assert row.expect["admin_key"] == row.expect["admin"], f"{method} {pattern}: the admin's key as the admin"
        reads = level == "public" or method in ("GET", "HEAD")
        for kind, full in (("read_only_key", "key"), ("admin_read_only_key", "admin_key")):
            want = row.expect[full] if reads else 403
            assert row.expect[kind] == want, f"{method} {pattern}: a read-only key must get {want}"


async def test_a_route_added_without_a_row_is_caught(make_server):
    class ExtraHandler(BaseHandler):
        @access.user
        def get(self) -> None:
            self.write_json({})

    class ExtraPlugin:
        @hookimpl
        def register_routes(self, app: Any) -> list:
            return [(r"/api/extra", ExtraHandler)]

        @hookimpl
        def register_ws_commands(self, app: Any) -> dict:
            async def extra(socket: Any, data: dict) -> dict:
                return {}

            return {"extra.command": extra}

    server = await make_server(**SERVER, plugins=[ExtraPlugin()])
    assert served(server.app) - set(TABLE) == {("GET", r"/api/extra")}
    assert set(server.app.state["websocket"].commands) - set(COMMANDS) == {"extra.command"}


async def test_every_route_answers_every_caller_as_the_table_says(make_server):
    server = await make_server(**SERVER)
    world = await make_world(server)
    problems: list[str] = []
    for key, row in TABLE.items():
        for caller in row.expect:
            await check_row(world, key, row, caller, problems)
    assert not problems, "\n".join(problems)
    assert await server.app.db.fetch_value("SELECT role FROM users WHERE id = ?", (world.users["bob"]["id"],)) == "user"


async def test_every_websocket_command_answers_only_about_its_own_channel(make_server, clients):
    server = await make_server(**SERVER)
    world = await make_world(server)
    alice = world.users["alice"]
    sockets = {
        "same": await connect(server, world.tokens["alice"]),
        "admin": await connect(server, world.tokens["admin"], query=f"userId={alice['id']}"),
        "user": await connect(server, world.tokens["bob"]),
        "key": await connect(server, query=f"api_key={world.keys['alice']}"),
        "read_only_key": await connect(server, query=f"api_key={world.keys['alice_read_only']}"),
    }
    clients.extend(sockets.values())
    for caller, socket in sockets.items():
        hello = (await socket.next_of("hello"))["data"]
        watched = world.users["bob"]["id"] if caller == "user" else alice["id"]
        assert hello["userId"] == watched and hello["session"]["userId"] == watched
    problems = []
    for command, (data, expect) in COMMANDS.items():
        for caller, want in expect.items():
            before = await world.snapshot()
            reply = await sockets[caller].command(command, data)
            where = f"{caller} {command}"
            if want is None and not reply["ok"]:
                problems.append(f"{where}: {reply['error']}")
            elif want is not None and (reply["ok"] or reply["error"]["status"] != want):
                problems.append(f"{where}: {reply}, expected error {want}")
            text = str(reply)
            sees_alice = SECRET_CHAT in text or SECRET_BODY in text
            if command in ("chats.list", "messages.list") and sees_alice != (caller != "user"):
                problems.append(f"{where}: {'shows' if sees_alice else 'misses'} Alice's chat: {text[:200]}")
            if want is not None and await world.snapshot() != before:
                problems.append(f"{where}: refused, yet a row changed")
    assert not problems, "\n".join(problems)


async def test_the_cors_preflight_of_every_route_changes_nothing_and_allows_no_stranger(make_server):
    server = await make_server(**SERVER)
    world = await make_world(server)
    for (method, _), row in TABLE.items():
        if row.path.startswith("/ws"):
            continue  # browsers do not pre-flight a websocket
        path, _, _, _ = await request_for(world, row, "same" if row.names_user else "user")
        before = await world.snapshot()
        response = await server.client.options(
            path, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": method}
        )
        assert response.status_code == 204 and response.content == b"", f"OPTIONS {path}: {response.status_code}"
        assert "Access-Control-Allow-Origin" not in response.headers, f"OPTIONS {path} allowed an unknown origin"
        assert await world.snapshot() == before, f"OPTIONS {path} changed a row"


async def test_every_method_outside_the_table_is_405_for_everyone_and_names_the_allowed_ones(make_server):
    server = await make_server(**SERVER)
    world = await make_world(server)
    allowed: dict[str, set[str]] = {}
    for method, pattern in TABLE:
        allowed.setdefault(pattern, set()).add(method)
    problems = []
    for pattern, methods in allowed.items():
        if pattern == r"/ws":
            continue  # a websocket handler: the /ws row covers it
        row = TABLE[(min(methods), pattern)]
        for other in sorted({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - methods):
            for caller in ("anonymous", "admin"):
                path, headers, _, _ = await request_for(world, row, "same" if row.names_user and caller != "anonymous" else caller)
                if caller == "admin":
                    headers = bearer(world.tokens["admin"])
                before = await world.snapshot()
                response = await server.client.request(other, path, headers=headers)
                allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
                if response.status_code != 405 or allow != methods | {"OPTIONS"}:
                    problems.append(f"{caller} {other} {path}: {response.status_code}, Allow {sorted(allow)}")
                elif other != "HEAD" and response.json()["error"]["code"] != "method_not_allowed":
                    problems.append(f"{caller} {other} {path}: {response.text[:200]}")
                if await world.snapshot() != before:
                    problems.append(f"{caller} {other} {path}: a row changed")
    assert not problems, "\n".join(problems)


@pytest.fixture
async def clients():
    opened: list[Client] = []
    yield opened
    for client in opened:
        client.close()

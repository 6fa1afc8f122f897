"""The WhatsApp session and chat routes of docs/api.md (see ``base`` for whose session a route may use)."""
from __future__ import annotations

from server import access, openapi
from server.errors import ApiError
from server.pagination import PageSchema, page

from plugins.whatsapp import store
from plugins.whatsapp.store import people, search
from plugins.whatsapp.base import OTHER_USER_ERRORS, USER_ID, WhatsAppHandler
from plugins.whatsapp.params import parse_before
from plugins.whatsapp.qr import qr_data_url, qr_png
from plugins.whatsapp.schemas import (
    AdminSessionSchema,
    ChatSchema,
    ChatsQuerySchema,
    MessageSchema,
    MessagesQuerySchema,
    NodeSchema,
    QrQuerySchema,
    QrSchema,
    SearchQuerySchema,
    SendSchema,
    SessionStatusSchema,
)

LAUNCH_ERRORS = {**OTHER_USER_ERRORS, 503: "The session limit is reached, or no Chromium is installed."}


class StartHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Start a user's WhatsApp session",
        description="Launches the session's browser; follow its state with the status route or the websocket.",
        responses={202: SessionStatusSchema},
        errors=LAUNCH_ERRORS,
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        self.write_json(await self.wa.start(uid), status=202)


class StatusHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(summary="A session's status", responses={200: SessionStatusSchema}, errors=OTHER_USER_ERRORS, tags=["whatsapp"])
    async def get(self, user_id: str) -> None:
        self.write_json(self.wa.status(await self.target(user_id)))


class QrHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="The QR code to scan",
        description="JSON with the payload and a PNG data URL, or the PNG itself with `?format=png`.",
        query=QrQuerySchema,
        responses={200: [QrSchema, openapi.Response(schema={"type": "string", "format": "binary"}, media_type="image/png")]},
        errors={**OTHER_USER_ERRORS, 409: "The session is not showing a QR code."},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str) -> None:
        uid = await self.target(user_id)
        args = openapi.load_query(self)
        qr = self.wa.qr(uid)
        if args["format"] == "png":
            self.set_header("Content-Type", "image/png")
            self.set_header("Cache-Control", "no-store")
            self.finish(qr_png(qr))
            return
        self.write_json({"qr": qr, "image": qr_data_url(qr)})


class SendHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Send a text message",
        body=SendSchema,
        responses={201: MessageSchema},
        errors={**OTHER_USER_ERRORS,
                409: "The session is not connected.", 429: "The session's send queue is full (whatsapp.send_queue); see Retry-After."},
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        data = openapi.load_body(self)
        self.write_json(await self.wa.send(uid, data), status=201)


class ChatsHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="A user's chats, newest first",
        description="Served from the database: works while the session is stopped.",
        query=ChatsQuerySchema,
        responses={200: openapi.list_of(ChatSchema)},
        errors=OTHER_USER_ERRORS,
        tags=["whatsapp"],
    )
    async def get(self, user_id: str) -> None:
        uid = await self.target(user_id)
        args = openapi.load_query(self)
        items, total = await store.list_chats(self.db, uid, args["limit"], args["offset"], q=args["q"])
        self.write_json(page(items, total, args))


class SearchHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Find messages by their words, newest first",
        description="Every word of `q` must appear in the message's text or caption, as a word or the start of one, "
                    "in any letter case. Served from the database: works while the session is stopped.",
        query=SearchQuerySchema,
        responses={200: openapi.list_of(MessageSchema)},
        errors=OTHER_USER_ERRORS,
        tags=["whatsapp"],
    )
    async def get(self, user_id: str) -> None:
        uid = await self.target(user_id)
        args = openapi.load_query(self)
        chat_id = args["chat_id"] and await people.stored_chat_id(self.db, uid, args["chat_id"])
        items, total = await search.search_messages(self.db, uid, args["q"], chat_id, args["limit"], args["offset"])
        self.write_json(page(items, total, args))


class MessagesHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="A chat's messages, newest first",
        query=MessagesQuerySchema,
        responses={200: openapi.list_of(MessageSchema)},
        errors=OTHER_USER_ERRORS,
        tags=["whatsapp"],
    )
    async def get(self, user_id: str, chat_id: str) -> None:
        uid = await self.target(user_id)
        args = openapi.load_query(self)
        try:
            before = parse_before(args["before"])
        except ValueError as exc:
            raise ApiError(422, "Validation failed.", fields={"before": [str(exc)]}) from None
        items, total = await store.list_messages(self.db, uid, chat_id, args["limit"], args["offset"], before)
        self.write_json(page(items, total, args))


class DisconnectHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(summary="Stop the session, keeping its login", responses={200: SessionStatusSchema}, errors=OTHER_USER_ERRORS, tags=["whatsapp"])
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        self.write_json(await self.wa.stop(uid))


class RestartHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Restart the session's browser",
        responses={202: SessionStatusSchema},
        errors=LAUNCH_ERRORS,
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        self.write_json(await self.wa.restart(uid), status=202)


class ClearSessionHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Log out and delete the session's profile",
        description="The next start shows a QR code.",
        responses={200: SessionStatusSchema},
        errors=OTHER_USER_ERRORS,
        tags=["whatsapp"],
    )
    async def post(self, user_id: str) -> None:
        uid = await self.target(user_id)
        self.write_json(await self.wa.logout(uid))


class AdminSessionsHandler(WhatsAppHandler):
    @access.admin
    @openapi.doc(
        summary="Live WhatsApp sessions",
        description="Every session that is not STOPPED, by user id, with the node running it "
        "(in a cluster, every node's sessions: docs/scaling.md).",
        query=PageSchema,
        responses={200: openapi.list_of(AdminSessionSchema)},
        tags=["whatsapp"],
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        rows = await self.wa.sessions()
        self.write_json(page(rows[args["offset"] : args["offset"] + args["limit"]], len(rows), args))


class NodesHandler(WhatsAppHandler):
    @access.admin
    @openapi.doc(
        summary="The server processes running WhatsApp sessions",
        description="Every live node of the cluster with its capacity, sessions and heartbeat age "
        "(docs/scaling.md); without a cluster, this process alone.",
        query=PageSchema,
        responses={200: openapi.list_of(NodeSchema)},
        tags=["whatsapp"],
    )
    async def get(self) -> None:
        args = openapi.load_query(self)
        rows = await self.wa.nodes()
        self.write_json(page(rows[args["offset"] : args["offset"] + args["limit"]], len(rows), args))


class ScreenshotHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="A screenshot of the session's page",
        description="A PNG of what the session's browser shows now, for diagnosing a stuck session. "
        "Every request is written to the audit log. A user may see their own session's.",
        # application/octet-stream first: the type generated clients read bytes from.
        responses={200: [openapi.Response(schema={"type": "string", "format": "binary"}, description="The PNG.",
                                          media_type=media_type) for media_type in ("application/octet-stream", "image/png")]},
        errors={**OTHER_USER_ERRORS, 409: "The session has no browser running.", 502: "The page did not answer."},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str) -> None:
        uid = await self.target(user_id)
        png = await self.wa.screenshot(uid, self.current_user)
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "no-store")
        self.finish(png)


default_handlers = [
    (rf"/api/whatsapp/start/{USER_ID}", StartHandler),
    (rf"/api/whatsapp/status/{USER_ID}", StatusHandler),
    (rf"/api/whatsapp/qr/{USER_ID}", QrHandler),
    (rf"/api/whatsapp/send/{USER_ID}", SendHandler),
    (rf"/api/whatsapp/chats/{USER_ID}", ChatsHandler),
    (rf"/api/whatsapp/chats/{USER_ID}/(?P<chat_id>[^/]+)/messages", MessagesHandler),
    (rf"/api/whatsapp/search/{USER_ID}", SearchHandler),
    (rf"/api/whatsapp/disconnect/{USER_ID}", DisconnectHandler),
    (rf"/api/whatsapp/restart/{USER_ID}", RestartHandler),
    (rf"/api/whatsapp/clear-session/{USER_ID}", ClearSessionHandler),
    (r"/api/admin/whatsapp-sessions", AdminSessionsHandler),
    (r"/api/admin/nodes", NodesHandler),
    (rf"/api/admin/whatsapp-sessions/{USER_ID}/screenshot", ScreenshotHandler),
]

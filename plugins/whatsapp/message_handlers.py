"""Routes that act on one message or chat: read it, react to it, edit it, delete it, mark a chat read.

``:messageId`` is WhatsApp's id as the API answers it (``true_79991234567@c.us_3EB0...``).
"""
from __future__ import annotations

from server import access, openapi
from server.errors import NotFound

from plugins.whatsapp import store
from plugins.whatsapp.base import MESSAGE_ID, OTHER_USER_ERRORS, USER_ID, WhatsAppHandler
from plugins.whatsapp.schemas import ChatSchema, DeleteQuerySchema, EditSchema, MessageSchema, ReactSchema

ACTION_ERRORS = {
    **OTHER_USER_ERRORS,
    404: "No such user, or no such message in this session.",
    409: "The session is not connected, or WhatsApp refuses (not your message, past the edit window...).",
    429: "The session's send queue is full (see Retry-After).",
    502: "WhatsApp did not do it.",
}


class MessageHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="One message",
        description="From the database (works while the session is stopped), with its reactions.",
        responses={200: MessageSchema},
        errors={**OTHER_USER_ERRORS, 404: "No such user, or no such message."},
        tags=["whatsapp"],
    )
    async def get(self, user_id: str, message_id: str) -> None:
        uid = await self.target(user_id)
        message = await store.get_message(self.db, uid, message_id)
        if message is None:
            raise NotFound("No such message.")
        self.write_json(message)

    @access.user
    @openapi.doc(
        summary="Edit one of your messages",
        description="A new text, or a new caption for a media message, within WhatsApp's edit window (15 minutes). "
        "Every device sees it edited; the websocket gets `message.edited`.",
        body=EditSchema,
        responses={200: MessageSchema},
        errors=ACTION_ERRORS,
        tags=["whatsapp"],
    )
    async def put(self, user_id: str, message_id: str) -> None:
        uid = await self.target(user_id)
        data = openapi.load_body(self)
        self.write_json(await self.wa.edit(uid, message_id, data["message"]))

    @access.user
    @openapi.doc(
        summary="Delete a message",
        description="`for=everyone` (the default): one of your own messages, on every device, while WhatsApp allows "
        "it; the row stays, marked `revoked`, with its text and media gone (`message.revoked`). `for=me`: here "
        "only; the row goes (`message.deleted`).",
        query=DeleteQuerySchema,
        responses={204: "Deleted."},
        errors=ACTION_ERRORS,
        tags=["whatsapp"],
    )
    async def delete(self, user_id: str, message_id: str) -> None:
        uid = await self.target(user_id)
        args = openapi.load_query(self)
        await self.wa.delete(uid, message_id, everyone=args["for_"] == "everyone")
        self.set_status(204)
        self.finish()


class ReactHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="React to a message",
        description="One reaction per person and message: a new one replaces yours, an empty emoji takes it back. "
        "The websocket gets `message.reaction`.",
        body=ReactSchema,
        responses={200: MessageSchema},
        errors=ACTION_ERRORS,
        tags=["whatsapp"],
    )
    async def post(self, user_id: str, message_id: str) -> None:
        uid = await self.target(user_id)
        data = openapi.load_body(self)
        self.write_json(await self.wa.react(uid, message_id, data["emoji"]))


class ReadHandler(WhatsAppHandler):
    @access.user
    @openapi.doc(
        summary="Mark a chat read",
        description="Sends the read receipt (the senders see blue ticks) and sets the chat's unread count to 0.",
        responses={200: ChatSchema},
        errors={**OTHER_USER_ERRORS, 404: "No such user, or no such chat.", 409: "The session is not connected."},
        tags=["whatsapp"],
    )
    async def post(self, user_id: str, chat_id: str) -> None:
        uid = await self.target(user_id)
        self.write_json(await self.wa.read(uid, chat_id))


default_handlers = [
    (rf"/api/whatsapp/messages/{USER_ID}/{MESSAGE_ID}", MessageHandler),
    (rf"/api/whatsapp/messages/{USER_ID}/{MESSAGE_ID}/react", ReactHandler),
    (rf"/api/whatsapp/chats/{USER_ID}/(?P<chat_id>[^/]+)/read", ReadHandler),
]

"""The websocket commands of the whatsapp plugin: each does what its REST route does, for the
socket's channel user, and answers what that route answers."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server.errors import ApiError
from server.pagination import page
from server.ws import read_command

from plugins.whatsapp import store
from plugins.whatsapp.params import parse_before
from plugins.whatsapp.schemas import (
    ChatsQuerySchema,
    DeleteQuerySchema,
    EditSchema,
    ReactSchema,
    SendSchema,
    WsMessagesSchema,
)


async def message_send(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = SendSchema().load(data)
    return await socket.app.state["whatsapp"].send(socket.target_user_id, args)


class _MessageRef(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=256))


class _React(_MessageRef, ReactSchema):
    pass


class _Edit(_MessageRef, EditSchema):
    pass


class _Delete(_MessageRef, DeleteQuerySchema):
    pass


class _ChatRef(Schema):
    chat_id = fields.String(data_key="chatId", required=True, validate=validate.Length(min=1, max=128))


async def message_react(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = _React().load(data)
    return await socket.app.state["whatsapp"].react(socket.target_user_id, args["id"], args["emoji"])


async def message_edit(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = _Edit().load(data)
    return await socket.app.state["whatsapp"].edit(socket.target_user_id, args["id"], args["message"])


async def message_delete(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = _Delete().load(data)
    await socket.app.state["whatsapp"].delete(socket.target_user_id, args["id"], everyone=args["for_"] == "everyone")
    return {"id": args["id"], "deleted": args["for_"]}


async def chat_read(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = _ChatRef().load(data)
    return await socket.app.state["whatsapp"].read(socket.target_user_id, args["chat_id"])


@read_command
async def chats_list(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = ChatsQuerySchema().load(data)
    items, total = await store.list_chats(socket.app.db, socket.target_user_id, args["limit"], args["offset"])
    return page(items, total, args)


@read_command
async def messages_list(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = WsMessagesSchema().load(data)
    try:
        before = parse_before(args["before"])
    except ValueError as exc:
        raise ApiError(422, "Validation failed.", fields={"before": [str(exc)]}) from None
    items, total = await store.list_messages(
        socket.app.db, socket.target_user_id, args["chat_id"], args["limit"], args["offset"], before
    )
    return page(items, total, args)


COMMANDS = {
    "message.send": message_send,
    "message.react": message_react,
    "message.edit": message_edit,
    "message.delete": message_delete,
    "chat.read": chat_read,
    "chats.list": chats_list,
    "messages.list": messages_list,
}

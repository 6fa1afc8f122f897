"""The websocket commands of the whatsapp plugin: message.send, chats.list, messages.list."""
from __future__ import annotations

from typing import Any

from server.errors import ApiError
from server.pagination import page

from plugins.whatsapp import store
from plugins.whatsapp.params import parse_before
from plugins.whatsapp.schemas import ChatsQuerySchema, SendSchema, WsMessagesSchema


async def message_send(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = SendSchema().load(data)
    return await socket.app.state["whatsapp"].send(socket.target_user_id, args["to"], args["message"])


async def chats_list(socket: Any, data: dict[str, Any]) -> dict[str, Any]:
    args = ChatsQuerySchema().load(data)
    items, total = await store.list_chats(socket.app.db, socket.target_user_id, args["limit"], args["offset"])
    return page(items, total, args)


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


COMMANDS = {"message.send": message_send, "chats.list": chats_list, "messages.list": messages_list}

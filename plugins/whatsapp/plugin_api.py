"""The whatsapp plugin's side of ``server.whatsapp_api``: what other plugins may do through a session."""
from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.errors import ValidationFailed

from plugins.whatsapp import store

if TYPE_CHECKING:
    from plugins.whatsapp.service import WhatsAppService

_PLUGIN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _sender(plugin: str) -> str:
    if not isinstance(plugin, str) or not _PLUGIN_NAME.match(plugin):
        raise ValueError("plugin: the sending plugin's name, 1 to 64 of A-Z a-z 0-9 _ . -")
    return f"plugin:{plugin}"


class PluginAPI:
    def __init__(self, service: WhatsAppService) -> None:
        self.service = service

    async def status(self, user_id: int) -> dict[str, Any]:
        return self.service.status(user_id)

    async def send_text(self, user_id: int, to: str, text: str, *, reply_to: str | None = None, plugin: str) -> dict[str, Any]:
        request = {"to": to, "message": text, **({"reply_to": reply_to} if reply_to else {})}
        return await self.service.send(user_id, self._checked(request), sent_by=_sender(plugin))

    async def send_media(self, user_id: int, to: str, data: bytes | Path, *, mimetype: str, filename: str | None = None,
                         caption: str | None = None, kind: str | None = None, reply_to: str | None = None,
                         plugin: str) -> dict[str, Any]:
        sender = _sender(plugin)
        content = Path(data).read_bytes() if isinstance(data, Path) else data
        stored = await self.service.media.add_bytes(user_id, content, mimetype=mimetype,
                                                    filename=filename or f"file-{secrets.token_hex(4)}")
        request: dict[str, Any] = {"to": to, "media_id": stored.media_id}
        if caption:
            request["caption"] = caption
        if kind:
            request["as_"] = kind
        if reply_to:
            request["reply_to"] = reply_to
        return await self.service.send(user_id, self._checked(request), sent_by=sender)

    async def react(self, user_id: int, message_id: str, emoji: str, *, plugin: str) -> dict[str, Any]:
        _sender(plugin)
        return await self.service.react(user_id, message_id, emoji)

    async def mark_read(self, user_id: int, chat_id: str) -> dict[str, Any]:
        return await self.service.read(user_id, chat_id)

    async def chats(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        items, _ = await store.list_chats(self.service.app.db, user_id, limit, offset)
        return items

    async def messages(self, user_id: int, chat_id: str, *, limit: int = 50, before: int | None = None) -> list[dict[str, Any]]:
        items, _ = await store.list_messages(self.service.app.db, user_id, chat_id, limit, 0, before)
        return items

    async def message(self, user_id: int, message_id: str) -> dict[str, Any] | None:
        return await store.get_message(self.service.app.db, user_id, message_id)

    @staticmethod
    def _checked(request: dict[str, Any]) -> dict[str, Any]:
        """The same validation a REST send gets (data keys as SendSchema loads them)."""
        from plugins.whatsapp.schemas import SendSchema

        schema = SendSchema()
        outside = {schema.fields[k].data_key or k: v for k, v in request.items()}
        errors = schema.validate(outside)
        if errors:
            raise ValidationFailed(errors)
        return schema.load(outside)

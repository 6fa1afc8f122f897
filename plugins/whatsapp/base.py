"""What every WhatsApp route shares: whose session it is, and the service that runs it.

``:userId`` in a path is the caller's own id, or the caller is an admin: another user's session
is 403, a user that does not exist 404.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.errors import Forbidden, NotFound
from server.handlers import BaseHandler
from server.users import get_user

if TYPE_CHECKING:
    from plugins.whatsapp.service import WhatsAppService

USER_ID = r"(?P<user_id>[0-9]+)"
MESSAGE_ID = r"(?P<message_id>[^/]{1,256})"
OTHER_USER_ERRORS = {403: "Another user's session (only admins may).", 404: "No such user."}


async def resolve_target(handler: Any, user: dict[str, Any], user_id: int) -> int:
    """403 for another user's session unless admin; 404 for a user that does not exist."""
    if int(user["id"]) == user_id:
        return user_id
    if user["role"] != "admin":
        raise Forbidden("That is another user's WhatsApp session.")
    if await get_user(handler.app.db, user_id) is None:
        raise NotFound("No such user.")
    return user_id


class WhatsAppHandler(BaseHandler):
    @property
    def wa(self) -> WhatsAppService:
        return self.app.state["whatsapp"]

    async def target(self, user_id: str) -> int:
        """The session's user id, once the caller may use it; any use keeps it from the idle timeout."""
        uid = await resolve_target(self, self.current_user, int(user_id))
        self.wa.touch(uid)
        return uid

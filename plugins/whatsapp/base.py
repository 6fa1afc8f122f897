"""What every WhatsApp route shares: whose session it is, and the service that runs it.

``:userId`` in a path is the caller's own id, or the caller is an admin: another user's session
is 403, a user that does not exist 404.

In a cluster (docs/scaling.md) a call for a session that another node owns is forwarded to that
node once the caller is authenticated, and its answer written back as it came: every handler
method of a subclass is wrapped for that when the class is made, so no route can forget it.
"""
from __future__ import annotations

import functools
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


ROUTED_METHODS = ("get", "post", "put", "patch", "delete")


def _routed(method: Any) -> Any:
    @functools.wraps(method)  # keeps the access mark and the OpenAPI declaration
    async def serve(self: WhatsAppHandler, *args: Any, **kwargs: Any) -> Any:
        if self._owner is not None:
            from plugins.whatsapp.cluster import forward

            cluster = self.wa.cluster
            node_id, url = self._owner
            await forward(self, url, node_id, cluster.node_id, cluster.cfg["forward_timeout"])
            return None
        return await method(self, *args, **kwargs)

    serve.__wamulti_routed__ = True
    return serve


class WhatsAppHandler(BaseHandler):
    _owner: tuple[str, str] | None = None  # (node id, URL) of the node that serves this call

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ROUTED_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__wamulti_routed__", False):
                setattr(cls, name, _routed(method))

    async def prepare(self) -> None:
        await super().prepare()
        service = self.app.state.get("whatsapp")
        user_id = self.path_kwargs.get("user_id")
        if service is not None and service.cluster is not None and user_id is not None and not self._finished:
            self._owner = await service.cluster.route(self.request, int(user_id))

    @property
    def wa(self) -> WhatsAppService:
        return self.app.state["whatsapp"]

    async def target(self, user_id: str) -> int:
        """The session's user id, once the caller may use it; any use keeps it from the idle timeout."""
        uid = await resolve_target(self, self.current_user, int(user_id))
        self.wa.touch(uid)
        return uid

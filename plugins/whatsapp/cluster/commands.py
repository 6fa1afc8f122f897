"""Websocket commands for a session that another node holds (docs/scaling.md).

The whatsapp plugin's commands are wrapped when it registers them (only with
``cluster.enabled``): a command for a session held elsewhere is validated here (the same 422 as
on the owner), sent to the owner as the REST call it stands for, with the socket's own
credential, and answered with what the owner answered; its errors come back as the same error
objects. Commands that only read the database (``chats.list``, ``messages.list``) are served
wherever the socket is. ``server/ws.py`` needs no change: it calls the command it was given.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from plugins.whatsapp.cluster.forward import FORWARDED, unavailable
from server.errors import ApiError

log = logging.getLogger("wamulti.cluster")

Rest = tuple[str, str, Any]  # method, path, JSON body (None: no body)


def _q(value: Any) -> str:
    return quote(str(value), safe="@")


def _send(uid: int, d: dict) -> Rest:
    return "POST", f"/api/whatsapp/send/{uid}", d


def _react(uid: int, d: dict) -> Rest:
    return "POST", f"/api/whatsapp/messages/{uid}/{_q(d['id'])}/react", {"emoji": d.get("emoji")}


def _edit(uid: int, d: dict) -> Rest:
    return "PUT", f"/api/whatsapp/messages/{uid}/{_q(d['id'])}", {"message": d.get("message")}


def _delete(uid: int, d: dict) -> Rest:
    return "DELETE", f"/api/whatsapp/messages/{uid}/{_q(d['id'])}?for={_q(d.get('for', 'everyone'))}", None


def _read(uid: int, d: dict) -> Rest:
    return "POST", f"/api/whatsapp/chats/{uid}/{_q(d['chatId'])}/read", None


REST: dict[str, Callable[[int, dict], Rest]] = {
    "message.send": _send, "message.react": _react, "message.edit": _edit, "message.delete": _delete,
    "chat.read": _read,
}


def _schemas() -> dict[str, Any]:
    from plugins.whatsapp import commands
    from plugins.whatsapp.schemas import SendSchema

    return {"message.send": SendSchema, "message.react": commands._React, "message.edit": commands._Edit,
            "message.delete": commands._Delete, "chat.read": commands._ChatRef}


def routed_commands(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` with each session command forwarded to the session's owner when it is elsewhere."""
    schemas = _schemas()
    return {name: _routed(name, fn, schemas[name]) if name in REST else fn for name, fn in table.items()}


def _routed(name: str, command: Any, schema: Any) -> Any:
    @functools.wraps(command)
    async def routed(socket: Any, data: dict[str, Any]) -> Any:
        service = socket.app.state.get("whatsapp")
        cluster = service.cluster if service is not None else None
        owner = await cluster.locate(socket.target_user_id) if cluster is not None else None
        if owner is None:
            return await command(socket, data)
        args = schema().load(data)  # refused here exactly as the owner would refuse it
        method, path, body = REST[name](socket.target_user_id, data)
        answer = await _call(cluster, owner, socket, method, path, body)
        return {"id": data["id"], "deleted": args["for_"]} if name == "message.delete" else answer

    return routed


async def _call(cluster: Any, owner: tuple[str, str], socket: Any, method: str, path: str, body: Any) -> Any:
    node_id, url = owner
    headers = {"Authorization": f"Bearer {socket.credential()}", FORWARDED: cluster.node_id,
               "Content-Type": "application/json"}
    request = HTTPRequest(url.rstrip("/") + path, method=method, headers=headers,
                          body=json.dumps(body) if body is not None else (b"" if method in ("POST", "PUT") else None),
                          allow_nonstandard_methods=True, follow_redirects=False,
                          connect_timeout=5.0, request_timeout=cluster.cfg["forward_timeout"])
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError) as exc:
        log.warning("forwarding a websocket command to node %s failed: %s", node_id, exc)
        raise unavailable("The node running this WhatsApp session is not answering; try again shortly.", 2) from None
    if response.code == 599:
        log.warning("forwarding a websocket command to node %s failed: %s", node_id, response.error)
        raise unavailable("The node running this WhatsApp session is not answering; try again shortly.", 2)
    if response.code == 204:
        return None
    try:
        answer = json.loads(response.body or b"null")
    except ValueError:
        raise ApiError(502, "The node running this WhatsApp session answered something unreadable.") from None
    if response.code < 400:
        return answer
    error = dict((answer or {}).get("error") or {}) if isinstance(answer, dict) else {}
    status, code = int(error.pop("status", response.code)), error.pop("code", None)
    message, fields = error.pop("message", None), error.pop("fields", None)
    retry = response.headers.get("Retry-After")
    raise ApiError(status, message, code=code, fields=fields, extra=error or None,
                   headers={"Retry-After": retry} if retry else None)

"""Forwarding a REST call to the node that owns its session, answered as if it were local.

The caller's credentials travel as they came (the owner authenticates the call again and decides
who may use the session); ``X-Wamulti-Forwarded`` tells the owner not to forward it once more.
A node that does not answer (it is dying, or draining) turns into 503 with ``Retry-After``,
never into a wrong answer.
"""
from __future__ import annotations

import logging
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from server.errors import ApiError

FORWARDED = "X-Wamulti-Forwarded"
# Hop-by-hop headers, and those the owner sets again itself.
DROP_REQUEST = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "te", "upgrade",
                "proxy-connection", "expect", "accept-encoding", FORWARDED.lower()}
KEEP_RESPONSE = {"content-type", "retry-after", "cache-control", "content-disposition", "location", "etag",
                 "last-modified", "allow", "accept-ranges", "content-range", "www-authenticate"}

log = logging.getLogger("wamulti.cluster")


def unavailable(message: str, retry_after: float) -> ApiError:
    return ApiError(503, message, headers={"Retry-After": str(max(1, int(retry_after + 0.999)))})


async def forward(handler: Any, base_url: str, node_id: str, self_id: str, timeout: float) -> None:
    """Send ``handler``'s request to ``base_url`` and write the owner's answer back."""
    request = handler.request
    headers = {k: v for k, v in request.headers.get_all() if k.lower() not in DROP_REQUEST}
    headers[FORWARDED] = self_id
    headers["X-Request-Id"] = handler.request_id
    body = handler.body if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
    outgoing = HTTPRequest(base_url.rstrip("/") + request.uri, method=request.method, headers=headers,
                           body=body, allow_nonstandard_methods=True, follow_redirects=False,
                           connect_timeout=min(5.0, timeout), request_timeout=timeout)
    try:
        response = await AsyncHTTPClient().fetch(outgoing, raise_error=False)
    except (OSError, HTTPClientError) as exc:
        log.warning("forwarding %s %s to node %s failed: %s", request.method, request.path, node_id, exc)
        raise unavailable("The node running this WhatsApp session is not answering; try again shortly.", 2) from None
    if response.code == 599:  # tornado's code for no answer at all (refused, reset, timed out)
        log.warning("forwarding %s %s to node %s failed: %s", request.method, request.path, node_id, response.error)
        raise unavailable("The node running this WhatsApp session is not answering; try again shortly.", 2)
    handler.clear_header("Content-Type")
    handler.set_status(response.code, response.reason)
    for name, value in response.headers.get_all():
        if name.lower() in KEEP_RESPONSE:
            handler.set_header(name, value)
    handler.set_header("X-Wamulti-Node", node_id)
    if response.code not in (204, 304) and response.body:
        handler.write(response.body)
    handler.finish()

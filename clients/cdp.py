"""Working around pyppeteer 2.0: calls that must not be cancelled, futures it drops, and
``exposeFunction``'s unawaited answer."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pyee import EventEmitter
from pyppeteer import helper
from pyppeteer.browser import Browser
from pyppeteer.connection import Connection
from websockets.legacy.client import connect as ws_connect

log = logging.getLogger(__name__)


def _consume(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


async def uncancelled(awaitable: Any, timeout: float | None = None, track: set | None = None) -> Any:
    """Await a pyppeteer call, with an optional timeout, without ever cancelling it.

    pyppeteer resolves its protocol futures without checking whether they were cancelled: one
    late answer to a call that a timeout (or a cancelled task) gave up on raises inside its
    receive loop and ends the connection. So the call runs on in its own task; we stop waiting.
    """
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(_consume)
    if track is not None:  # calls in flight, which a graceful close lets finish first
        track.add(task)
        task.add_done_callback(track.discard)
    if timeout is None:
        return await asyncio.shield(task)
    return await asyncio.wait_for(asyncio.shield(task), timeout)


class _Connection(Connection):
    """pyppeteer's connection, except that a failed protocol call it dropped is not logged.

    ``CDPSession.send`` forwards every page call as ``Target.sendMessageToTarget`` and never looks
    at that future again; when a browser dies, each call in flight then logs "Future exception
    was never retrieved". Awaited futures still raise: marking one retrieved hides nothing.
    """

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, delay: int = 0) -> None:
        # Connection.__init__ (pyppeteer 2.0.0) without the ``loop`` argument that websockets
        # deprecated: every connection would warn "remove loop argument" twice.
        EventEmitter.__init__(self)
        self._url = url
        self._lastId = 0
        self._callbacks: dict[int, asyncio.Future] = {}
        self._delay = delay / 1000
        self._loop = loop
        self._sessions: dict[str, Any] = {}
        self._connected = False
        self._ws = ws_connect(self._url, max_size=None, ping_interval=None, ping_timeout=None)
        self._recv_fut = self._loop.create_task(self._recv_loop())
        self._closeCallback = None

    def send(self, method: str, params: dict | None = None) -> Any:
        future = super().send(method, params)
        future.add_done_callback(_consume)
        return future


async def connect(endpoint: str) -> Browser:
    """``pyppeteer.connect(browserWSEndpoint=endpoint, defaultViewport=None)`` on ``_Connection``."""
    connection = _Connection(endpoint, asyncio.get_running_loop())
    contexts = (await connection.send("Target.getBrowserContexts")).get("browserContextIds", [])
    return await Browser.create(connection, contexts, False, None, None, lambda: connection.send("Browser.close"))



DELIVER_RESULT_JS = """function deliverResult(name, seq, result) {
  window[name]['callbacks'].get(seq)(result);
  window[name]['callbacks'].delete(seq);
}"""


async def expose_function(page: Any, name: str, callback: Any, alive: Any = lambda: True) -> None:
    """``page.exposeFunction`` (once per page, before navigating: a second registration of a
    name raises), with pyppeteer's delivery of the (empty) result made safe: pyppeteer sends it
    without awaiting, so a page closing meanwhile logs "Future exception was never retrieved"."""
    await uncancelled(page.exposeFunction(name, callback))
    original = page._onBindingCalled

    def on_binding_called(event: dict[str, Any]) -> None:
        try:
            call = json.loads(event["payload"])
        except (KeyError, ValueError):
            return
        if call.get("name") != name:
            original(event)
            return
        try:
            callback(*call.get("args", []))
        except Exception:  # noqa: BLE001
            log.exception("the %s callback failed", name)
        if not alive():  # a closing page: the answer would only fail
            return
        expression = helper.evaluationString(DELIVER_RESULT_JS, name, call.get("seq"), None)
        try:
            sent = page._client.send("Runtime.evaluate", {"expression": expression, "contextId": event["executionContextId"]})
        except Exception:  # noqa: BLE001 - the page is gone
            return
        sent.add_done_callback(lambda f: f.cancelled() or f.exception())

    page._onBindingCalled = on_binding_called

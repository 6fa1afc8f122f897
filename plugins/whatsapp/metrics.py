"""The WhatsApp plugin's Prometheus metrics (the ``register_metrics`` hook).

Read through what the service offers: ``stats()`` for the sessions by state, at scrape time; a
listener on the session manager for messages in and out and for browser restarts; and, when the
service has send queues, their depth. No label names a user, a phone number or a chat.
"""
from __future__ import annotations

import collections
from typing import Any, Iterator

from clients import SessionState
from server import hookimpl

# WhatsApp's message types worth a label of their own; any other is counted as "other", so that
# what a page reports can never grow the number of series.
MESSAGE_TYPES = frozenset({
    "chat", "image", "video", "audio", "ptt", "document", "sticker", "location", "vcard", "multi_vcard",
    "revoked", "ciphertext", "poll_creation", "call_log", "gp2", "e2e_notification", "notification_template",
})
SEEN_MESSAGES = 20_000  # message ids remembered, so that a message reported twice is counted once


class SessionEvents:
    """A session manager listener that counts messages and browser restarts."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter

        self.messages = Counter(
            "wamulti_whatsapp_messages", "WhatsApp messages received and sent, by direction and type.",
            ["direction", "type"], registry=registry,
        )
        self.restarts = Counter(
            "wamulti_whatsapp_browser_restarts", "Sessions whose browser was started again after it FAILED.",
            registry=registry,
        )
        self.failures = Counter(
            "wamulti_whatsapp_session_failures", "Sessions that went FAILED (a crash, a hung browser, a ban...).",
            registry=registry,
        )
        self.keys: set[str] = set()  # sessions seen, for the send queue depth
        self._states: dict[str, str] = {}
        self._seen: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()

    def __call__(self, key: str, kind: str, data: dict[str, Any]) -> None:
        self.keys.add(key)
        if kind == "message":
            self._count_message(key, data)
        elif kind == "state":
            state = str(getattr(data.get("state"), "value", data.get("state")))
            previous = self._states.get(key)
            self._states[key] = state
            if state == previous:
                return
            if state == SessionState.FAILED.value:
                self.failures.inc()
            elif state == SessionState.STARTING.value and previous == SessionState.FAILED.value:
                self.restarts.inc()

    def _count_message(self, key: str, data: dict[str, Any]) -> None:
        seen = (key, str(data.get("id")))
        if seen in self._seen:
            return
        self._seen[seen] = None
        if len(self._seen) > SEEN_MESSAGES:
            self._seen.popitem(last=False)
        kind = data.get("type")
        self.messages.labels("out" if data.get("fromMe") else "in", kind if kind in MESSAGE_TYPES else "other").inc()


class ServiceCollector:
    """Sessions by state and the send queues' depth, read from the service at scrape time."""

    def __init__(self, app: Any, events: SessionEvents) -> None:
        self.app = app
        self.events = events

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        service = self.app.state.get("whatsapp")
        if service is None:  # the plugin is stopping
            return
        stats = service.stats()
        by_state = GaugeMetricFamily("wamulti_whatsapp_sessions", "WhatsApp sessions of this process, by state.",
                                     labels=["state"])
        for state in SessionState:
            by_state.add_metric([state.value], stats["byState"].get(state.value, 0))
        yield by_state
        yield GaugeMetricFamily("wamulti_whatsapp_live_sessions", "Sessions holding a browser (whatsapp.max_sessions "
                                "caps them).", value=stats["sessions"])
        yield GaugeMetricFamily("wamulti_whatsapp_max_sessions", "whatsapp.max_sessions.", value=stats["maxSessions"])
        queues = getattr(service, "queues", None)
        if queues is not None and hasattr(queues, "depth"):
            yield GaugeMetricFamily("wamulti_whatsapp_send_queue_depth", "Messages waiting to leave, all sessions together.",
                                    value=sum(queues.depth(key) for key in list(self.events.keys)))


@hookimpl
def register_metrics(app: Any, registry: Any) -> None:
    """Exposed as the plugin's hook by an import in ``plugins/whatsapp/__init__.py``."""
    service = app.state.get("whatsapp")
    if service is None:
        return
    events = SessionEvents(registry)
    service.manager.add_listener(events)
    registry.register(ServiceCollector(app, events))

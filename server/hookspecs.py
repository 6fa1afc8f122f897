"""Every hook a plugin may implement. Each has a section in docs/plugins.md.

- Collect hooks (``config_schema``, ``register_migrations``, ``register_routes``,
  ``register_commands``) are called synchronously while the server is assembled: implement them
  as plain functions.
- Notification hooks (``shutdown``, ``user_deleted``) run every implementation, each on its own,
  even when one raises (:func:`server.plugins.notify_hook`).
- The others may return a value or an awaitable: the core awaits either
  (:func:`server.plugins.call_hook`).

No hook is ``firstresult``, because a coroutine is never ``None``.
"""
from __future__ import annotations

from typing import Any

from server import hookspec


@hookspec
def config_schema() -> dict[str, type]:
    """Declare the configuration sections this plugin owns.

    Return ``{section_name: marshmallow.Schema subclass}``. The section is read
    from ``config.yaml`` and ``WAMULTI_<SECTION>__<KEY>`` variables, validated at
    start-up (unknown keys are errors) and available as ``app.config[section]``.
    """


@hookspec
def register_migrations(dialect: str) -> Any:
    """Return a folder of ``NNNN_name.sql`` files for ``dialect`` (``sqlite`` or ``mysql``), or None.

    Files are applied in order, once, after the core's, and recorded in
    ``schema_migrations`` under the plugin's name.
    """


@hookspec
def register_routes(app: Any) -> Any:
    """Return a list of Tornado routes ``(pattern, HandlerClass[, kwargs])``.

    Every handler method must be marked with one of ``server.access.public``,
    ``user`` or ``admin``; start-up fails otherwise.
    """


@hookspec
def startup(app: Any) -> Any:
    """Called once the database is open and migrated, before the server listens.

    Start background work here; keep its state on ``app.state[plugin_name]``.
    """


@hookspec
def shutdown(app: Any) -> Any:
    """Called when the server stops, before the database and the bus close. Release what
    ``startup`` took. A notification: every implementation runs, whatever another raised."""


@hookspec
def admin_stats(app: Any) -> Any:
    """Return a dict merged into ``GET /api/admin/stats`` (for example ``{"products": 12}``)."""


@hookspec
def register_commands(subparsers: Any) -> None:
    """Add ``wamulti`` sub-commands to an ``argparse`` sub-parser collection.

    Set ``handler=async def fn(app, args) -> int`` with ``set_defaults``; the CLI
    gives it an opened, migrated app (no HTTP server) and exits with its result.
    """


@hookspec
def user_deleted(app: Any, user_id: int) -> Any:
    """Called after a user was deleted, so plugins release what they held for them. A
    notification: every implementation runs, whatever another raised."""


@hookspec
def authenticate(app: Any, token: str) -> Any:
    """Return the user row (a dict with at least ``id`` and ``role``) a bearer token belongs to.

    Return None when the token is not of a kind this plugin issues; raise
    ``server.errors.Unauthorized`` when it is, but is invalid, expired or revoked.
    The first user returned wins. Called on every authenticated request and websocket.
    """


@hookspec
def register_ws_commands(app: Any) -> Any:
    """Return ``{command_type: async handler(socket, data)}`` for frames clients send on ``/ws``.

    ``socket`` is the :class:`server.ws.UserSocket` (``socket.user`` the signed-in user,
    ``socket.target_user_id`` the channel's user). The handler's return value is sent back
    as the ``data`` of a ``reply``; raising ``ApiError`` sends ``ok: false`` with the error shape.
    """


@hookspec
def ws_hello(app: Any, user: dict, target_user_id: int) -> Any:
    """Return a dict merged into the ``hello`` frame a socket receives when it connects."""


@hookspec
def register_metrics(app: Any, registry: Any) -> Any:
    """Register this plugin's Prometheus metrics on ``registry``, the app's own
    ``prometheus_client.CollectorRegistry`` (never the process-wide default one).

    Called once by the metrics plugin when ``metrics.enabled`` is true, after every other
    plugin's ``startup``. Prefer a collector that reads figures when Prometheus scrapes; never
    put a user id, username or phone number in a label.
    """


@hookspec
def whatsapp_event(app: Any, user_id: int, event: dict) -> Any:
    """Every event of every WhatsApp session, once it is stored: ``event`` is exactly the websocket
    frame ``{type, data}`` its user's sockets get (``message``, ``message.ack``, ``message.reaction``,
    ``message.edited``, ``message.revoked``, ``message.deleted``, ``chat``, ``chat.merged``,
    ``session.status``, ``session.qr``, ``session.code``...). Called in order, from a bounded
    queue of this plugin's own: a slow or failing plugin delays or breaks nothing else. At most
    once (in memory). A message this server sent carries ``data.sentBy`` (``user`` or
    ``plugin:<name>``), so a bot can tell its own messages apart."""


@hookspec
def whatsapp_event_stored(app: Any, tx: Any, user_id: int, event: dict) -> Any:
    """The same events, called inside the database transaction that stores the change they tell
    of: write rows with ``tx`` (an outbox), and they are committed with the change or not at all.
    Must be quick and use only ``tx``: it holds the transaction open. Used by the webhooks plugin."""

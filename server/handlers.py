"""BaseHandler: JSON in and out, validation, access control and the error contract."""
from __future__ import annotations

import json
import logging
import re
import secrets
import traceback
from typing import TYPE_CHECKING, Any, Mapping

from marshmallow import Schema, ValidationError
from tornado.web import HTTPError, RequestHandler, stream_request_body

from server import access, hookimpl
from server.config import Config
from server.db import Database, DatabaseUnavailable
from server.errors import ApiError, Forbidden, Unauthorized, error_body
from server.fastjson import dumps
from server.plugins import await_me_maybe

if TYPE_CHECKING:
    import pluggy

    from server.app import WamultiApp

log = logging.getLogger("wamulti.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_JSON_TYPES = ("application/json", "application/merge-patch+json")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: Any) -> bool:
    """Whether parsed JSON holds a string with an unpaired surrogate.

    json.loads lets one through, from a ``"\\ud800"`` escape or from surrogate bytes it decodes
    with "surrogatepass"; such text cannot be encoded as UTF-8, so no database can store it
    and no answer can echo it.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def hard_body_cap(limit: int) -> int:
    """The most a connection may send before Tornado drops it (see BaseHandler.prepare)."""
    return max(16 * limit, 16 * 1024 * 1024)


API_KEY_HEADER = "X-Api-Key"
# What a read-only credential (an API key made with readOnly) may call.
READ_METHODS = frozenset({"GET", "HEAD"})


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def request_credential(headers: Mapping[str, str]) -> str | None:
    """The credential a request carries: an ``X-Api-Key`` header, else an ``Authorization:
    Bearer`` token (a JWT or an API key). Never taken from a REST URL, which logs and Referer
    headers keep."""
    return (headers.get(API_KEY_HEADER) or "").strip() or bearer_token(headers.get("Authorization"))


async def authenticate(app: WamultiApp, token: str | None) -> dict[str, Any]:
    """The user a credential belongs to, asked of the plugins in turn; Unauthorized when none vouches.

    The first plugin that returns a user wins and the others are not asked. A plugin that refuses
    (raises Unauthorized) does not stop the others, since the credential may be another plugin's
    kind (a JWT plugin refuses an API key as malformed); when none vouches, the first refusal is
    answered. Besides its columns, the user row may carry ``read_only`` (the credential may only
    read) and ``credential_id`` (which credential, so that revoking it closes its sockets).
    """
    if not token:
        raise Unauthorized(f"Authentication required: send Authorization: Bearer <token> or {API_KEY_HEADER}: <key>.")
    refusal: Unauthorized | None = None
    for impl in reversed(app.plugins.hook.authenticate.get_hookimpls()):  # pluggy's call order
        arguments = {"app": app, "token": token}
        try:
            user = await await_me_maybe(impl.function(**{name: arguments[name] for name in impl.argnames}))
        except Unauthorized as exc:
            refusal = refusal or exc
            continue
        if user is not None:
            return user
    raise refusal or Unauthorized("The token is not valid.")


def check_read_only(user: dict[str, Any], method: str) -> None:
    """A read-only credential may call GET and HEAD only (403 otherwise)."""
    if user.get("read_only") and method.upper() not in READ_METHODS:
        raise Forbidden("This API key is read-only: it may only read (GET and HEAD).")


def _body_unread(request: Any) -> bool:
    """Whether a streamed request body has not been received in full (Tornado's own future)."""
    pending = getattr(request, "_body_future", None)
    return pending is not None and not pending.done()


class ErrorContract:
    """What every handler of ours answers and logs, the websocket's upgrade included.

    - Every answer carries ``X-Request-Id`` (the caller's, when it sent a sane one).
    - Every failure is answered in the one error shape: an ``ApiError`` as it says, a database
      that does not answer as 503, anything unexpected as a 500 without internals.
    - A log line names the method, the path and the request id, never the query string (a
      websocket passes its token there) and never the request's headers.
    """

    request: Any
    request_id: str

    def set_default_headers(self) -> None:
        if not hasattr(self, "request_id"):
            incoming = self.request.headers.get("X-Request-Id", "")
            self.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(16)
        self.set_header("X-Request-Id", self.request_id)
        self.set_header("X-Content-Type-Options", "nosniff")
        origin = self.request.headers.get("Origin")
        if origin and origin in self.settings["wamulti"].config.server.cors_origins:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Location")
            self.set_header("Vary", "Origin")

    def allowed_methods(self) -> list[str]:
        """The methods this handler serves (for the Allow header of a 405, as RFC 9110 asks)."""
        return [m.upper() for m in access.HTTP_METHODS if access.level_of(getattr(self, m, None)) or m == "options"]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            body = exc.to_dict()
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, DatabaseUnavailable):
            self.set_status(503)
            body = error_body(503, "The database is not answering; try again shortly.")
        elif isinstance(exc, HTTPError):
            message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
            body = error_body(exc.status_code, message if exc.status_code < 500 and message else None)
        else:
            body = error_body(status_code)
        if status_code == 405:  # also for methods Tornado refuses itself (TRACE), before prepare()
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        if _body_unread(self.request):
            # The rest of the request's body is still on the wire: the connection cannot carry
            # another request, and the client must know before it sends one.
            self.set_header("Connection", "close")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body, ensure_ascii=False))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, HTTPError):
            return  # expected; the access log has the status
        where = f"[{self.request_id}] {self.request.method} {self.request.path}"
        if isinstance(value, DatabaseUnavailable):
            log.warning("%s: database unavailable: %s", where, value)
            return
        log.error("%s failed:\n%s", where, "".join(traceback.format_exception(typ, value, tb)))


@stream_request_body
class BaseHandler(ErrorContract, RequestHandler):
    """Every wamulti handler derives from this. Bodies are streamed so size is enforced early."""

    current_user: dict[str, Any] | None

    # -- dependencies -------------------------------------------------
    @property
    def app(self) -> WamultiApp:
        return self.settings["wamulti"]

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def config(self) -> Config:
        return self.app.config

    @property
    def plugins(self) -> pluggy.PluginManager:
        return self.app.plugins

    @property
    def events(self) -> Any:
        return self.app.events

    # -- request life cycle -------------------------------------------
    async def prepare(self) -> None:
        self._body_chunks: list[bytes] = []
        self._body_size = 0
        self._body_too_large = False
        limit = self.config.server.max_body_bytes
        # An over-size body is read and thrown away, and the 413 comes when the handler asks
        # for the body: a server that answers before reading gets its answer lost in a
        # connection reset. Past the hard cap Tornado drops the connection instead.
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            if int(length) > hard_body_cap(limit):
                raise ApiError(413, f"The request body is larger than {limit} bytes.")
            self._body_too_large = True

        self.current_user = None
        method = getattr(self, self.request.method.lower(), None)
        level = access.level_of(method) or ("public" if self.request.method == "OPTIONS" else None)
        if level is None:
            raise ApiError(405)
        if level in ("user", "admin"):
            self.current_user = await authenticate(self.app, request_credential(self.request.headers))
            if level == "admin" and self.current_user["role"] != "admin":
                raise ApiError(403, "Administrators only.")
            check_read_only(self.current_user, self.request.method)

    def data_received(self, chunk: bytes) -> None:
        self._body_size += len(chunk)
        if self._body_size > self.config.server.max_body_bytes:
            self._body_too_large = True
            self._body_chunks = []
        elif not self._body_too_large:
            self._body_chunks.append(chunk)

    @property
    def body(self) -> bytes:
        if self._body_too_large:
            raise ApiError(413, f"The request body is larger than {self.config.server.max_body_bytes} bytes.")
        return b"".join(self._body_chunks)

    @access.public
    def options(self, *args: Any, **kwargs: Any) -> None:
        """CORS pre-flight: allowed origins get the methods and headers they may use."""
        origin = self.request.headers.get("Origin")
        if origin and origin in self.config.server.cors_origins:
            self.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
            self.set_header("Access-Control-Allow-Headers", f"Authorization, Content-Type, X-Request-Id, {API_KEY_HEADER}")
            self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    # -- input ----------------------------------------------------------
    def json_body(self) -> Any:
        """The parsed JSON body: 400 when it is not JSON, 413 when it is too large."""
        raw = self.body
        ctype = self.request.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()
        if ctype not in _JSON_TYPES:
            raise ApiError(400, "Send the body as JSON with Content-Type: application/json.")
        if not raw.strip():
            raise ApiError(400, "The request body is empty; send a JSON object.")
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            raise ApiError(400, "The request body is not valid JSON.") from None
        if has_lone_surrogate(value):
            raise ApiError(400, "The request body is not valid JSON: it holds an unpaired UTF-16 surrogate.")
        return value

    def load(self, schema: Schema, data: Any = None, *, partial: bool = False) -> dict[str, Any]:
        """Validate ``data`` (default: the JSON body) with a marshmallow schema; 422 with fields on failure."""
        if data is None:
            data = self.json_body()
        if not isinstance(data, dict):
            raise ApiError(422, "The body must be a JSON object.", fields={"_schema": ["Expected a JSON object."]})
        try:
            return schema.load(data, partial=partial)
        except ValidationError as exc:
            raise ApiError(422, "Validation failed.", fields=_as_fields(exc.messages)) from None

    def load_query(self, schema: Schema) -> dict[str, Any]:
        """Validate the query string; repeated keys become lists only where the schema asks."""
        raw: dict[str, Any] = {}
        for key, values in self.request.query_arguments.items():
            decoded = [v.decode("utf-8", "replace") for v in values]
            field = schema.fields.get(key)
            is_list = field is not None and field.__class__.__name__ == "List"
            raw[key] = decoded if is_list else decoded[-1]
        return self.load(schema, raw)

    # -- output ---------------------------------------------------------
    def write_json(self, obj: Any, status: int = 200) -> None:
        """Answer ``obj`` as compact JSON (server.fastjson: the text json.dumps gave, faster)."""
        self.write_json_bytes(dumps(obj), status)

    def write_json_bytes(self, body: bytes, status: int = 200) -> None:
        """Answer JSON already encoded (a cached page, server.cache), with write_json's headers."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        if "Cache-Control" not in self._headers:
            # Answers may hold a user's data or a token: no shared or browser cache keeps them.
            self.set_header("Cache-Control", "no-store")
        self.finish(body)

def _as_fields(messages: Any) -> dict[str, Any]:
    if isinstance(messages, dict):
        return messages
    return {"_schema": messages if isinstance(messages, list) else [str(messages)]}


class NotFoundHandler(BaseHandler):
    """Every unknown path: a 404 in the error shape, whatever the method."""

    async def prepare(self) -> None:
        raise ApiError(404, f"No route for {self.request.path}.")


# -- the access log and request metrics ---------------------------------------------------
UNMATCHED = "unmatched"  # the route of a path no route serves
_ROUTES_KEY = "server.routes"  # in app.state; no plugin can be named with a dot
_HTTP_METRICS_KEY = "server.http"
_METHOD_LABELS = frozenset(m.upper() for m in access.HTTP_METHODS)


def route_template(handler: RequestHandler) -> str:
    """The route that served a request, as its OpenAPI path (``/api/products/{product_id}``),
    or ``unmatched``: a label and a log field whose values are bounded by the routes, never by
    what clients send."""
    if isinstance(handler, NotFoundHandler):
        return UNMATCHED
    app = handler.settings.get("wamulti")
    if app is None:
        return UNMATCHED
    table = app.state.get(_ROUTES_KEY)
    if table is None or table[0] is not app.routes:
        table = app.state[_ROUTES_KEY] = (app.routes, _templates_by_handler(app.routes))
    candidates = table[1].get(type(handler), ())
    if len(candidates) == 1:
        return candidates[0][1]
    for regex, template in candidates:  # one handler class behind several patterns
        if regex.match(handler.request.path):
            return template
    return UNMATCHED


def _templates_by_handler(routes: list[tuple[Any, ...]]) -> dict[type, list[tuple[re.Pattern[str], str]]]:
    from server.openapi import path_template

    table: dict[type, list[tuple[re.Pattern[str], str]]] = {}
    for route in routes:
        pattern, handler = route[0], route[1]
        try:
            template = path_template(pattern)[0]
        except ValueError:
            template = pattern
        regex = re.compile(pattern if pattern.endswith("$") else pattern + "$")
        table.setdefault(handler, []).append((regex, template))
    return table


def access_fields(handler: RequestHandler, seconds: float | None = None) -> dict[str, Any]:
    """What an access line says, as fields (the JSON log writes each one); ``seconds`` is the
    request's time when the caller has it already."""
    request = handler.request
    user = handler.current_user  # set by prepare() (None for public methods)
    return {
        "request_id": getattr(handler, "request_id", None),
        "method": request.method,
        "route": route_template(handler),
        "status": handler.get_status(),
        "duration_ms": round(1000.0 * (request.request_time() if seconds is None else seconds), 1),
        "user_id": int(user["id"]) if isinstance(user, dict) and "id" in user else None,
    }


_ACCESS_LOG = logging.getLogger("wamulti.access")


def access_log(handler: RequestHandler) -> None:
    """Tornado's log_function: the path without its query string, which may carry a token.

    The line's fields ride along as the record's ``extra`` (the JSON format writes them); the
    request metrics, when the metrics plugin asked for them, are observed here too."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    seconds = request.request_time()
    fields = access_fields(handler, seconds)
    _ACCESS_LOG.log(
        level,
        "%d %s %s %.1fms [%s]",
        status,
        request.method,
        request.path,
        1000.0 * seconds,
        fields["request_id"] or "-",
        extra=fields,
    )
    app = handler.settings.get("wamulti")
    metrics: RequestMetrics | None = app.state.get(_HTTP_METRICS_KEY) if app is not None else None
    if metrics is not None:
        metrics.observe(fields["method"], fields["route"], status, seconds)


class RequestMetrics:
    """HTTP request count and duration by method and route template (never by a user or a raw
    path, whose values clients choose)."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Histogram

        self.duration = Histogram(
            "wamulti_http_request_duration_seconds", "Time to answer an HTTP request, by method and route.",
            ["method", "route"], registry=registry,
        )
        self.requests = Counter(
            "wamulti_http_requests", "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"], registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHOD_LABELS else "other"
        self.duration.labels(method, route).observe(seconds)
        self.requests.labels(method, route, str(status)).inc()


# -- hooks: the core registers this module as the plugin ``core.http`` --------------------

@hookimpl
def register_metrics(app: Any, registry: Any) -> None:
    app.state[_HTTP_METRICS_KEY] = RequestMetrics(registry)

"""The OpenAPI 3 document of every route the server registered, and the page that renders it.

Handlers declare what a method takes and answers with :func:`doc`, stacked with its access
mark, and validate with :func:`load_body` / :func:`load_query`, which use exactly the schema
the declaration names, so the document and the validation cannot drift apart::

    class ProductsHandler(BaseHandler):
        @access.admin
        @openapi.doc(summary="Create a product", body=ProductSchema, responses={201: ProductSchema},
                     errors={409: "A product with that name exists."})
        async def post(self) -> None:
            data = openapi.load_body(self)

The document is built once per app from the routes it registered (``app.routes``), so a
switched-off plugin's routes leave it. The access mark decides the security requirement and
the usual error responses (401, 403, 422, 404...); ``errors`` adds or rewords others.
"""
from __future__ import annotations

import functools
import http
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from marshmallow import INCLUDE, Schema, fields
from tornado.web import RequestHandler

import server
from server import access
from server.errors import ApiError, error_body
from server.handlers import BaseHandler

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__wamulti_openapi__"
OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEME = "bearerAuth"
_CACHE_KEY = "server.openapi"  # in app.state; no plugin can be named with a dot


# -- declarations ------------------------------------------------------------------
@dataclass(frozen=True)
class Response:
    """One documented answer. ``schema``: a marshmallow Schema (class or instance), a plain
    JSON-schema dict, or None for no body; ``headers``: header name -> description."""

    schema: Any = None
    description: str | None = None
    media_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """What :func:`doc` records on a handler method."""

    summary: str | None = None
    description: str | None = None
    body: Schema | None = None
    query: Schema | None = None
    responses: Mapping[int, tuple[Response, ...]] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    operation_id: str | None = None
    deprecated: bool = False


def _instance(schema: Any) -> Schema | None:
    if schema is None or isinstance(schema, Schema):
        return schema
    if isinstance(schema, type) and issubclass(schema, Schema):
        return schema()
    raise TypeError(f"expected a marshmallow Schema class or instance, got {schema!r}")


def _responses(value: Any) -> tuple[Response, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(r for item in value for r in _responses(item))
    if isinstance(value, Response):
        return (value,)
    if value is None:
        return (Response(),)
    if isinstance(value, str):
        return (Response(description=value),)
    return (Response(schema=value),)


def doc(
    *,
    summary: str | None = None,
    description: str | None = None,
    body: type[Schema] | Schema | None = None,
    query: type[Schema] | Schema | None = None,
    responses: Mapping[int, Any] | None = None,
    errors: Mapping[int, str] | None = None,
    tags: Sequence[str] = (),
    operation_id: str | None = None,
    deprecated: bool = False,
) -> Callable[[F], F]:
    """Declare a handler method for the OpenAPI document (the method itself is not wrapped).

    - ``body``/``query``: the marshmallow schema that validates the JSON body / query string;
      :func:`load_body` and :func:`load_query` use it. ``Schema(partial=True)`` for updates
      that take any subset of the fields.
    - ``responses``: ``{status: X}`` where X is a Schema class or instance, a :class:`Response`,
      a description string (no body), None (no body), or a list of those (several media types).
      Default: ``{200: "OK"}``.
    - ``errors``: ``{status: "when it happens"}``, added to (or rewording) the automatic ones:
      401 for user and admin methods, 403 for admin ones, 400/413/422 with a body, 422 with a
      query schema, 404 when the path has a parameter.
    """
    decl = Operation(
        summary=summary,
        description=description,
        body=_instance(body),
        query=_instance(query),
        responses={int(status): _responses(value) for status, value in (responses or {200: "OK"}).items()},
        errors={int(status): text for status, text in (errors or {}).items()},
        tags=tuple(tags),
        operation_id=operation_id,
        deprecated=deprecated,
    )

    def decorate(fn: F) -> F:
        setattr(fn, ATTRIBUTE, decl)
        return fn

    return decorate


def declaration(fn: Any) -> Operation | None:
    return getattr(fn, ATTRIBUTE, None)


def _current(handler: RequestHandler) -> tuple[str, Operation | None]:
    method = handler.request.method.lower()
    return f"{type(handler).__qualname__}.{method}", declaration(getattr(type(handler), method, None))


def load_body(handler: BaseHandler) -> dict[str, Any]:
    """The JSON body validated with the ``body`` schema the current method declares."""
    where, decl = _current(handler)
    if decl is None or decl.body is None:
        raise RuntimeError(f"{where} declares no body schema: add @openapi.doc(body=...)")
    return handler.load(decl.body, partial=decl.body.partial or False)


def load_query(handler: BaseHandler) -> dict[str, Any]:
    """The query string validated with the ``query`` schema the current method declares."""
    where, decl = _current(handler)
    if decl is None or decl.query is None:
        raise RuntimeError(f"{where} declares no query schema: add @openapi.doc(query=...)")
    return handler.load_query(decl.query)


@functools.lru_cache(maxsize=None)
def list_of(item: type[Schema]) -> type[Schema]:
    """The schema of a list answer ``{items, total, limit, offset}`` of ``item`` objects."""
    name = item.__name__.removesuffix("Schema") + "ListSchema"
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True, metadata={"description": "Matching items in all pages."}),
            "limit": fields.Integer(required=True),
            "offset": fields.Integer(required=True),
        },
        name=name,
    )


# -- the error shape ------------------------------------------------------------------
class ErrorDetailSchema(Schema):
    """Some errors carry details of their own (``ApiError(extra=...)``): a 409 about a WhatsApp
    session adds its ``state``. So the object is open to keys beyond these."""

    class Meta:
        unknown = INCLUDE

    status = fields.Integer(required=True, metadata={"example": 422})
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True, metadata={"example": "Validation failed."})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "Only for validation errors: the messages of each invalid field.",
            "example": {"email": ["Not a valid email address."]},
        },
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


_AUTO_ERRORS = {
    400: "The body is not JSON, or not sent as application/json.",
    401: "No bearer token, or an invalid, expired or revoked one.",
    403: "Administrators only.",
    404: "No such resource.",
    413: "The body is larger than server.max_body_bytes.",
    422: "Invalid, missing or unknown fields; `fields` names each.",
    429: "Too many requests; see Retry-After.",
}


# -- routes -> paths ---------------------------------------------------------------------
_INTEGER_GROUP = re.compile(r"\[0-9\][+*]|\\d[+*]|\[0-9\]\{[0-9,]+\}|\\d\{[0-9,]+\}")


def path_template(pattern: str) -> tuple[str, list[tuple[str, str]]]:
    """A Tornado pattern as an OpenAPI path and its parameters (name, regex).

    ``/api/products/(?P<product_id>[0-9]+)`` -> ``/api/products/{product_id}``; an unnamed
    group becomes ``{argN}``. Other regex syntax outside groups is not documentable.
    """
    pattern = pattern.removeprefix("^").removesuffix("$")
    out: list[str] = []
    params: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        if char != "(":
            out.append(char)
            i += 1
            continue
        depth, j = 0, i
        while j < len(pattern):
            if pattern[j] == "\\":
                j += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[j], 0)
            if depth == 0:
                break
            j += 1
        group = pattern[i + 1 : j]
        named = re.match(r"\?P<(\w+)>", group)
        if named:
            name, regex = named.group(1), group[named.end():]
        elif group.startswith("?"):
            raise ValueError(f"route {pattern!r}: use a named group (?P<name>...) so it can be documented")
        else:
            name, regex = f"arg{len(params) + 1}", group
        params.append((name, regex))
        out.append("{" + name + "}")
        i = j + 1
    return "".join(out), params


def _param_schema(regex: str) -> dict[str, Any]:
    if _INTEGER_GROUP.fullmatch(regex):
        return {"type": "integer", "minimum": 0}
    return {"type": "string", "pattern": f"^{regex}$"}


def served_methods(handler: type) -> list[str]:
    """The HTTP methods a handler class implements (not the CORS pre-flight every BaseHandler answers)."""
    out = []
    for method in access.HTTP_METHODS:
        fn = getattr(handler, method, None)
        if fn is None or fn is getattr(RequestHandler, method, None):
            continue
        if method == "options" and fn is BaseHandler.options:
            continue
        out.append(method)
    return out


def _route_parts(route: Any) -> tuple[str, type]:
    if isinstance(route, (tuple, list)):
        return route[0], route[1]
    return route.regex.pattern, route.handler_class  # tornado.web.URLSpec


def _tag_of(handler: type) -> str:
    module = handler.__module__
    if module.startswith("plugins."):
        return module.split(".")[1]
    if module.startswith("server."):
        return "core"
    return module.split(".")[0]


def _tag_description(tag: str, handler: type) -> str | None:
    if tag == "core":
        return "Operations endpoints the core always serves."
    package = handler.__module__.rsplit(".", 1)[0] if "." in handler.__module__ else handler.__module__
    text = (getattr(sys.modules.get(package), "__doc__", None) or "").strip()
    return text.splitlines()[0] if text else None


def _schema_name(schema: Any) -> str:
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    if isinstance(schema, Schema) and schema.partial:
        name += "Partial"
    return name


def _drop_partial_defaults(doc: dict[str, Any]) -> None:
    """A field left out of a partial (update) body keeps its value: it has no default there."""
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        if name.endswith("Partial"):
            for prop in schema.get("properties", {}).values():
                prop.pop("default", None)


def _content(responses: Iterable[Response]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for response in responses:
        if response.schema is not None:
            content[response.media_type] = {"schema": response.schema}
        elif response.media_type != "application/json":
            content[response.media_type] = {"schema": {"type": "string"}}
    return content


def _status_text(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Answer"


def _operation(handler: type, method: str, params: list[tuple[str, str]], op_id: str) -> dict[str, Any]:
    fn = getattr(handler, method)
    decl = declaration(fn) or Operation(responses={200: (Response(),)})
    level = access.level_of(fn) or "public"
    op: dict[str, Any] = {
        "operationId": decl.operation_id or op_id,
        "tags": list(decl.tags) or [_tag_of(handler)],
        "summary": decl.summary or f"{method.upper()} ({handler.__name__})",
    }
    notes = {"public": "Anyone may call it.", "user": "Needs a signed-in user.", "admin": "Administrators only."}
    op["description"] = "\n\n".join(filter(None, [decl.description, f"*Access:* {notes[level]}"]))
    if decl.deprecated:
        op["deprecated"] = True
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": _param_schema(regex)} for name, regex in params
    ]
    if decl.query is not None:
        parameters.append({"in": "query", "schema": decl.query})
    if parameters:
        op["parameters"] = parameters
    if decl.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": decl.body}}}
    op["security"] = [{SECURITY_SCHEME: []}] if level in ("user", "admin") else []

    responses: dict[str, Any] = {}
    for status, answers in sorted(decl.responses.items()):
        entry: dict[str, Any] = {"description": next((a.description for a in answers if a.description), _status_text(status))}
        content = _content(answers)
        if content:
            entry["content"] = content
        headers = {name: {"description": text, "schema": {"type": "string"}} for a in answers for name, text in a.headers.items()}
        if headers:
            entry["headers"] = headers
        responses[str(status)] = entry
    errors: dict[int, str] = {}
    if level in ("user", "admin"):
        errors[401] = _AUTO_ERRORS[401]
    if level == "admin":
        errors[403] = _AUTO_ERRORS[403]
    if params:
        errors[404] = _AUTO_ERRORS[404]
    if decl.body is not None:
        errors.update({s: _AUTO_ERRORS[s] for s in (400, 413, 422)})
    if decl.query is not None:
        errors[422] = _AUTO_ERRORS[422]
    errors.update(decl.errors)
    for status, text in sorted(errors.items()):
        example = error_body(status, text, fields={"name": ["Missing data for required field."]} if status == 422 else None)
        entry = {"description": text, "content": {"application/json": {"schema": ErrorSchema, "example": example}}}
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
        responses[str(status)] = entry
    op["responses"] = responses
    return op


def build_document(routes: Iterable[Any], *, title: str = "wamulti", version: str = server.__version__) -> dict[str, Any]:
    """The OpenAPI 3 document of ``routes`` (Tornado route tuples or URLSpecs)."""
    spec = APISpec(
        title=title,
        version=version,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": _INFO},
    )
    spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The token of /api/auth/login."}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    tags: dict[str, str | None] = {}
    used_ids: set[str] = set()
    for route in routes:
        pattern, handler = _route_parts(route)
        if not (isinstance(handler, type) and issubclass(handler, RequestHandler)):
            continue
        path, params = path_template(pattern)
        operations = {}
        for method in served_methods(handler):
            op_id = method + handler.__name__.removesuffix("Handler")
            if op_id in used_ids:
                op_id = f"{op_id}_{handler.__module__.replace('.', '_')}"
            used_ids.add(op_id)
            operations[method] = _operation(handler, method, params, op_id)
            for tag in operations[method]["tags"]:
                tags.setdefault(tag, _tag_description(tag, handler))
        if operations:
            spec.path(path=path, operations=operations)
    for tag, text in tags.items():
        spec.tag({"name": tag, **({"description": text} if text else {})})
    doc = spec.to_dict()
    _drop_partial_defaults(doc)
    return doc


_INFO = """\
Multi-user WhatsApp Web server. JSON in and out; authenticated calls send
`Authorization: Bearer <token>` (get one from `/api/auth/login`).

Lists answer `{items, total, limit, offset}`; `limit` defaults to 50 and is capped at 200.
Every error has one shape: `{"error": {"status", "code", "message", "fields"?}}`.
Unknown fields in a body are refused (422).
"""


def document_bytes(app: Any) -> bytes:
    """The app's document as JSON, built on first use from the routes it registered."""
    cached = app.state.get(_CACHE_KEY)
    if cached is None:
        cached = json.dumps(build_document(app.routes), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        app.state[_CACHE_KEY] = cached
    return cached


# -- handlers -------------------------------------------------------------------------------
class OpenApiHandler(BaseHandler):
    @access.public
    @doc(
        summary="This OpenAPI document",
        description="Every route of every enabled plugin, with its schemas and error answers.",
        responses={200: Response({"type": "object"}, "An OpenAPI 3.0 document.")},
    )
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(document_bytes(self.app))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>wamulti API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
  <style>body { margin: 0; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      persistAuthorization: true,
      validatorUrl: null
    });
  </script>
</body>
</html>
"""

# Files of the swagger-ui-bundle package the page uses (served from the installed package).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui.css.map": "application/json",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-bundle.js.map": "application/json",
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
}


@functools.lru_cache(maxsize=None)
def _asset(name: str) -> bytes:
    from swagger_ui_bundle import swagger_ui_path

    return (swagger_ui_path / name).read_bytes()


class DocsHandler(BaseHandler):
    @access.public
    @doc(
        summary="API documentation page",
        description="Swagger UI rendering /api/openapi.json; its files are served locally.",
        responses={200: Response(description="An HTML page.", media_type="text/html")},
    )
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(_PAGE)


class DocsAssetHandler(BaseHandler):
    @access.public
    @doc(
        summary="A file of the documentation page",
        responses={200: Response(description="The file (script, style sheet or icon).", media_type="application/octet-stream")},
    )
    def get(self, asset: str) -> None:
        content_type = ASSETS.get(asset)
        if content_type is None:
            raise ApiError(404, f"No documentation file {asset}.")
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "public, max-age=86400")
        self.finish(_asset(asset))


default_handlers = [
    (r"/api/openapi.json", OpenApiHandler),
    (r"/api/docs", DocsHandler),
    (r"/api/docs/(?P<asset>[A-Za-z0-9_.-]+)", DocsAssetHandler),
]

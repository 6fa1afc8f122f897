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

One schema declares both sides of a model. A request body is its *load side*
(:func:`input_schema`: the read-only ``dump_only`` fields such as ``id`` and the timestamps
left out, component ``ProductInput``, ``ProductInputPartial`` for ``partial=True``), and
:func:`load_body` validates with that very schema. An answer is its *dump side* (component
``Product``: the ``load_only`` fields such as passwords left out). Generated clients thus
neither send nor require what the server sets.

The document is built once per app from the routes it registered (``app.routes``), so a
switched-off plugin's routes leave it. The access mark decides the security requirement and
the usual error responses (401, 403, 422, 404...); ``errors`` adds or rewords others.
"""
from __future__ import annotations

import copy
import functools
import http
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import get_fields, resolve_schema_cls
from marshmallow import INCLUDE, Schema, fields, missing
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
    body_types: Mapping[str, Any] = field(default_factory=dict)
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


# -- the two sides of a schema --------------------------------------------------------
_INPUT_OF = "__wamulti_input_of__"  # on an input_schema() class: the schema it was made from


@functools.lru_cache(maxsize=None)
def input_schema(schema_cls: type[Schema]) -> type[Schema]:
    """The load side of ``schema_cls``: what a request body may hold.

    A subclass named ``<Name>InputSchema`` (component ``<Name>Input``) that excludes the
    read-only (``dump_only``) fields, so a body neither lists nor requires ``id`` or the
    timestamps; sending one is refused as an unknown field, as ``schema_cls`` itself refuses
    it. ``load_only`` fields (passwords) stay. Validators, hooks and Meta options are
    inherited; a nested schema class (also in a List) is replaced by its own load side.
    """
    if getattr(schema_cls, _INPUT_OF, None) is not None:
        return schema_cls
    read_only = tuple(name for name, f in schema_cls().fields.items() if f.dump_only)
    meta = type("Meta", (schema_cls.Meta,), {"exclude": (*getattr(schema_cls.Meta, "exclude", ()), *read_only)})
    nested = {}
    for name, declared in schema_cls._declared_fields.items():
        converted = _load_side_field(declared)
        if name not in read_only and converted is not declared:
            nested[name] = converted
    base = schema_cls.__name__.removesuffix("Schema").removesuffix("Input")
    return type(
        f"{base}InputSchema",
        (schema_cls,),
        {
            "Meta": meta,
            "__module__": schema_cls.__module__,
            "__doc__": f"What a request may send of {schema_cls.__name__}: its fields but the read-only ones.",
            _INPUT_OF: schema_cls,
            **nested,
        },
    )


def _load_side_field(declared: fields.Field) -> fields.Field:
    """``declared``, or a copy of it whose nested schema class is that class's load side."""
    if isinstance(declared, fields.Nested) and not isinstance(declared, fields.Pluck):
        target = declared.nested
        if isinstance(target, type) and issubclass(target, Schema):
            # a declared (class-level) field is never bound, so its nested schema is not cached yet
            out = copy.copy(declared)
            out.nested = input_schema(target)
            return out
        return declared
    inner = getattr(declared, "inner", None)  # fields.List
    if isinstance(inner, fields.Field):
        converted = _load_side_field(inner)
        if converted is not inner:
            out = copy.copy(declared)
            out.inner = converted
            return out
    return declared


def is_input(schema: Any) -> bool:
    """Whether ``schema`` (class or instance) is a load side made by :func:`input_schema`."""
    return getattr(resolve_schema_cls(schema), _INPUT_OF, None) is not None


def _body_schema(schema: Schema) -> Schema:
    """The load side of a declared body, keeping the instance's options (``partial``...)."""
    cls = input_schema(type(schema))
    if type(schema) is cls:
        return schema
    read_only = {name for name, f in schema.fields.items() if f.dump_only}  # also instance-level dump_only
    return cls(
        only=schema.only,
        exclude=set(schema.exclude) | read_only,
        many=schema.many,
        load_only=schema.load_only,
        partial=schema.partial,
        unknown=schema.unknown,
    )


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
    body_types: Mapping[str, Any] | None = None,
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
      that take any subset of the fields. A body is the schema's load side
      (:func:`input_schema`): its read-only fields are neither documented nor accepted.
    - ``body_types``: other media types the body may come as, ``{media type: JSON schema}``
      (a file upload's ``multipart/form-data`` or raw bytes); the handler reads those itself.
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
        body=None if body is None else _body_schema(_instance(body)),
        body_types=dict(body_types or {}),
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


class _Converter(OpenAPIConverter):
    """apispec's marshmallow converter, with what generated clients need to keep their types."""

    def init_parameter_attribute_functions(self) -> None:
        super().init_parameter_attribute_functions()
        self.add_parameter_attribute_function(_query_without_null)

    def field2nullable(self, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
        """A nullable nested schema as OpenAPI 3.0 says it: ``allOf: [$ref]`` + ``nullable``.

        apispec writes ``anyOf: [{type: object, nullable: true}, $ref]``, whose first member
        generators turn into an untyped object of its own; this way they read "X or None".
        """
        if field.allow_none and self.openapi_version.major == 3 and self.openapi_version.minor == 0:
            if "$ref" in ret:
                return {"allOf": [{"$ref": ret.pop("$ref")}], "nullable": True}
            if "allOf" in ret:
                return {"allOf": ret.pop("allOf"), "nullable": True}
        return super().field2nullable(field, ret=ret)

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema = super().schema2jsonschema(schema)
        return jsonschema if is_input(schema) else _dump_side(jsonschema, get_fields(schema))


def _dump_side(jsonschema: dict[str, Any], schema_fields: Mapping[str, fields.Field]) -> dict[str, Any]:
    """An answer's JSON schema: what the server always sends is required, nothing is defaulted.

    ``load_only`` fields (passwords) are left out. A field with a ``load_default`` is filled
    in when the object is made, and one with a ``dump_default`` is always dumped, so both are
    required, like ``required=True`` ones; a default says what a *request* may leave out, so
    answers have none.
    """
    properties = jsonschema.get("properties", {})
    required = set(jsonschema.get("required", []))
    for name, field_obj in schema_fields.items():
        key = field_obj.data_key or name
        if key not in properties:
            continue
        if field_obj.load_only:
            del properties[key]
            required.discard(key)
            continue
        properties[key].pop("default", None)
        if field_obj.load_default is not missing or field_obj.dump_default is not missing:
            required.add(key)
    if required:
        jsonschema["required"] = sorted(required)
    else:
        jsonschema.pop("required", None)
    return jsonschema


def _query_without_null(self: OpenAPIConverter, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
    """A query string has no null: leaving the argument out is how one says "none". So a
    ``load_default=None`` argument is documented as optional, not as nullable or null by default."""
    if ret.get("in") == "query":
        schema = ret.get("schema", {})
        schema.pop("nullable", None)
        if "default" in schema and schema["default"] is None:
            del schema["default"]
        if "enum" in schema:
            schema["enum"] = [value for value in schema["enum"] if value is not None]
    return {}


class _Plugin(MarshmallowPlugin):
    Converter = _Converter


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
    if decl.body is not None or decl.body_types:
        content = {"application/json": {"schema": decl.body}} if decl.body is not None else {}
        content.update({media_type: {"schema": schema} for media_type, schema in decl.body_types.items()})
        op["requestBody"] = {"required": True, "content": content}
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
    if decl.body is not None or decl.body_types:
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
        plugins=[_Plugin(schema_name_resolver=_schema_name)],
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
  <style>body { margin: 0; }</style>
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""

# The page's own files: no inline script, so its policy can refuse every inline script.
_OWN_ASSETS = {
    "init.js": (
        "application/javascript; charset=utf-8",
        b"""window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null
});
""",
    ),
}

# Scripts only from this server and never inline; Swagger UI sets inline styles on its elements.
# Tokens typed into "Authorize" stay in this page, which no other site may frame.
DOCS_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])


def _page_headers(handler: BaseHandler) -> None:
    handler.set_header("Content-Security-Policy", DOCS_POLICY)
    handler.set_header("X-Frame-Options", "DENY")
    handler.set_header("Referrer-Policy", "no-referrer")


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
        _page_headers(self)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(_PAGE)


class DocsAssetHandler(BaseHandler):
    @access.public
    @doc(
        summary="A file of the documentation page",
        responses={200: Response(description="The file (script, style sheet or icon).", media_type="application/octet-stream")},
    )
    def get(self, asset: str) -> None:
        if asset in _OWN_ASSETS:
            content_type, content = _OWN_ASSETS[asset]
        elif asset in ASSETS:
            content_type, content = ASSETS[asset], _asset(asset)
        else:
            raise ApiError(404, f"No documentation file {asset}.")
        _page_headers(self)
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "public, max-age=86400")
        self.finish(content)


default_handlers = [
    (r"/api/openapi.json", OpenApiHandler),
    (r"/api/docs", DocsHandler),
    (r"/api/docs/(?P<asset>[A-Za-z0-9_.-]+)", DocsAssetHandler),
]

"""The OpenAPI document: exactly the registered routes, their access, schemas and errors; the docs page."""
from __future__ import annotations

import re
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields
from tornado.web import RequestHandler

from server import access, hookimpl, openapi
from server.handlers import BaseHandler
from tests.support.server import assert_error, bearer, server_with_plugins

BUILT_IN = ("auth", "catalog", "articles", "admin")
PLUGIN_PATHS = {
    "catalog": ["/api/products", "/api/products/{product_id}"],
    "articles": ["/api/articles", "/api/articles/{article_id}"],
    "admin": [
        "/api/admin/users",
        "/api/admin/users/{user_id}",
        "/api/admin/users/{user_id}/role",
        "/api/admin/stats",
    ],
}
# Modules whose every handler method must carry an @openapi.doc declaration.
DECLARED_MODULES = {
    "server.health", "server.openapi", "plugins.auth.handlers", "plugins.catalog.handlers",
    "plugins.articles.handlers", "plugins.admin.handlers", "plugins.whatsapp.handlers", "server.ws",
    "plugins.whatsapp.message_handlers", "plugins.whatsapp.media.handlers", "plugins.whatsapp.people_handlers", "plugins.apikeys.handlers",
    "plugins.metrics.handlers", "plugins.webhooks.handlers", "plugins.orders.handlers",
}


def registered_operations(app) -> dict[tuple[str, str], Any]:
    """(path, method) -> handler method, read from Tornado's own router rather than app.routes."""
    found = {}
    for rule in app.tornado_app.wildcard_router.rules:
        handler = rule.target
        path = re.sub(r"\(\?P<(\w+)>[^()]*\)", r"{\1}", rule.matcher.regex.pattern.removesuffix("$"))
        path = path.replace("\\", "")
        assert "(" not in path, f"route {rule.matcher.regex.pattern} uses an unnamed group"
        for method in ("get", "head", "post", "put", "patch", "delete"):
            fn = getattr(handler, method, None)
            if fn is not None and fn is not getattr(RequestHandler, method):
                found[(path, method)] = fn
    return found


async def fetch_document(server) -> dict[str, Any]:
    response = await server.client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def component_name(schema: dict[str, Any]) -> str:
    return schema["$ref"].removeprefix("#/components/schemas/")


def check_instance(doc: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """A small JSON-schema check: types, required, and no undocumented keys."""
    schema = resolve(doc, schema)
    if value is None:
        assert schema.get("nullable") or "type" not in schema, f"{where}: null where {schema} is documented"
        return
    if len(schema.get("allOf", [])) == 1:  # a nullable nested object: allOf [$ref] + nullable
        schema = resolve(doc, schema["allOf"][0])
    kind = schema.get("type")
    python = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool}
    if kind:
        assert isinstance(value, python[kind]) and not (kind in ("integer", "number") and isinstance(value, bool)), (
            f"{where}: {value!r} is not {kind}"
        )
    if kind == "object" and "properties" in schema:
        assert set(schema.get("required", [])) <= set(value), f"{where}: missing {set(schema['required']) - set(value)}"
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(schema["properties"]), f"{where}: undocumented {set(value) - set(schema['properties'])}"
        for key, item in value.items():
            if key in schema["properties"]:
                check_instance(doc, schema["properties"][key], item, f"{where}.{key}")
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            check_instance(doc, schema["items"], item, f"{where}[{index}]")


# -- the routes -----------------------------------------------------------------------
async def test_document_lists_exactly_the_registered_routes_with_their_methods(server):
    doc = await fetch_document(server)
    assert doc["openapi"].startswith("3.")
    registered = registered_operations(server.app)
    documented = {(path, method) for path, method, _ in operations(doc)}
    assert documented == set(registered)
    expected = {"/api/health", "/api/db-status", "/api/openapi.json", "/api/docs", "/api/auth/login", "/api/user/profile"}
    expected |= {p for paths in PLUGIN_PATHS.values() for p in paths}
    assert expected <= set(doc["paths"])
    assert set(doc["paths"]["/api/products/{product_id}"]) == {"get", "put", "delete"}
    assert set(doc["paths"]["/api/admin/users/{user_id}/role"]) == {"put"}


async def test_each_operation_has_its_access_security_and_error_answers(server):
    doc = await fetch_document(server)
    registered = registered_operations(server.app)
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The token of /api/auth/login.",
    }
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        level = access.level_of(registered[(path, method)])
        responses = op["responses"]
        if level in ("user", "admin"):
            assert op["security"] == [{"bearerAuth": []}], where
            assert "401" in responses, where
        else:
            assert op["security"] == [], where
        if level == "admin":
            assert "403" in responses, where
        params = re.findall(r"{(\w+)}", path)
        if params:
            documented = {p["name"] for p in op["parameters"] if p["in"] == "path" and p["required"]}
            assert documented == set(params), where
            assert "404" in responses, where
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(responses), where
        if any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "422" in responses, where
        for status, answer in responses.items():
            if int(status) >= 400 and path != "/api/db-status":  # its 503 has the 200's shape (docs/api.md)
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, where
        fn = registered[(path, method)]
        if fn.__module__ in DECLARED_MODULES:
            assert openapi.declaration(fn) is not None, where
            assert op["summary"] == openapi.declaration(fn).summary and op["summary"], where
            assert any(int(s) < 300 for s in responses), where


async def test_every_reference_resolves(server):
    doc = await fetch_document(server)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


async def test_the_documented_bodies_are_the_ones_that_validate(server):
    """Each body schema in the document refuses what it does not list and requires what it requires;
    the read-only fields of the model it creates or changes are not in it, and are refused."""
    doc = await fetch_document(server)
    components = doc["components"]["schemas"]
    registered = registered_operations(server.app)
    admin, me = await server.admin()
    checked, models = 0, set()
    for path, method, op in operations(doc):
        if "requestBody" not in op or registered[(path, method)].__module__ not in DECLARED_MODULES:
            continue
        url = re.sub(r"{\w+}", str(me["id"]), path)
        ref = op["requestBody"]["content"]["application/json"]["schema"]
        name, schema = component_name(ref), resolve(doc, ref)
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"\w+Input(Partial)?", name), (where, name)
        assert not [n for n, prop in schema["properties"].items() if prop.get("readOnly")], where
        response = await server.client.request(method, url, headers=bearer(admin), json={"not_documented": 1})
        assert "not_documented" in assert_error(response, 422, "validation_failed")["fields"], where
        model = components.get(re.sub(r"Input(Partial)?$", "", name), {"properties": {}})
        for field in set(model["properties"]) - set(schema["properties"]):
            assert model["properties"][field].get("readOnly"), (where, field)
            response = await server.client.request(method, url, headers=bearer(admin), json={field: 1})
            assert field in assert_error(response, 422, "validation_failed")["fields"], (where, field)
            models.add(name)
        required = set(schema.get("required", []))
        if required:
            response = await server.client.request(method, url, headers=bearer(admin), json={})
            missing = set(assert_error(response, 422, "validation_failed")["fields"]) - {"_schema"}
            assert missing == required, where
        checked += 1
    assert checked >= 8
    assert {"ProductInput", "ProductInputPartial", "ArticleInput", "ArticleInputPartial"} <= models


async def test_answers_list_no_write_only_field_and_require_what_is_always_sent(server):
    doc = await fetch_document(server)
    components = doc["components"]["schemas"]
    answers = {
        component_name(content["schema"])
        for _, _, op in operations(doc)
        for status, answer in op["responses"].items()
        for content in answer.get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }
    assert {"Product", "Article", "User", "SignedIn", "Error"} <= answers
    for name, schema in components.items():
        if name.endswith(("Input", "InputPartial")):
            continue
        for field, prop in schema.get("properties", {}).items():
            assert not prop.get("writeOnly") and "default" not in prop, (name, field)
    product, article = components["Product"], components["Article"]
    assert set(product["required"]) == set(product["properties"])
    assert set(article["required"]) == set(article["properties"])
    # The same declaration's load side: what a create may leave out has its default there.
    assert components["ProductInput"]["required"] == ["name"]
    assert components["ProductInput"]["properties"]["price"]["default"] == "0.00"
    assert "required" not in components["ProductInputPartial"]
    assert components["RegisterInput"]["properties"]["password"]["writeOnly"] is True


async def test_types_generated_clients_would_lose_are_spelled_the_way_they_read_them(server):
    """A nullable nested object is ``allOf: [$ref]`` + ``nullable`` (not an anyOf with an untyped
    object); a query argument is never nullable nor null by default (a query string has no null)."""
    doc = await fetch_document(server)
    chat = doc["components"]["schemas"]["Chat"]
    assert chat["properties"]["lastMessage"] == {"allOf": [{"$ref": "#/components/schemas/Message"}], "nullable": True}
    assert "lastMessage" not in chat["required"]
    queries = [p for _, _, op in operations(doc) for p in op.get("parameters", []) if p["in"] == "query"]
    assert {"q", "role", "before", "limit", "offset", "format"} <= {p["name"] for p in queries}
    for parameter in queries:
        schema = parameter["schema"]
        assert "nullable" not in schema and schema.get("default", "") is not None, parameter
        assert None not in schema.get("enum", []), parameter
    role = next(p for p in doc["paths"]["/api/admin/users"]["get"]["parameters"] if p["name"] == "role")
    assert role == {"in": "query", "name": "role", "required": False, "schema": {"type": "string", "enum": ["user", "admin"]}}


async def test_answers_match_their_documented_schemas(server):
    doc = await fetch_document(server)
    admin, _ = await server.admin()
    product = (await server.client.post("/api/products", headers=bearer(admin), json={"name": "Mug", "price": 2.5})).json()
    article = (await server.client.post("/api/articles", headers=bearer(admin), json={"title": "News"})).json()
    token, user = await server.register("reader", fullName="Reader")
    calls = [
        ("get", "/api/health", "/api/health", None, None),
        ("get", "/api/db-status", "/api/db-status", None, None),
        ("post", "/api/auth/login", "/api/auth/login", None, {"username": "reader", "password": "correct horse battery"}),
        ("get", "/api/user/profile", "/api/user/profile", token, None),
        ("get", "/api/products", "/api/products", None, None),
        ("get", "/api/products/{product_id}", f"/api/products/{product['id']}", None, None),
        ("put", "/api/products/{product_id}", f"/api/products/{product['id']}", admin, {"points": 3}),
        ("get", "/api/articles", "/api/articles", None, None),
        ("get", "/api/articles/{article_id}", f"/api/articles/{article['id']}", None, None),
        ("get", "/api/admin/users", "/api/admin/users", admin, None),
        ("put", "/api/admin/users/{user_id}/role", f"/api/admin/users/{user['id']}/role", admin, {"role": "admin"}),
        ("get", "/api/admin/stats", "/api/admin/stats", admin, None),
        ("get", "/api/admin/whatsapp-sessions", "/api/admin/whatsapp-sessions", admin, None),
        ("get", "/api/products/{product_id}", "/api/products/999999", None, None),
        ("post", "/api/products", "/api/products", admin, {"name": ""}),
        ("get", "/api/admin/stats", "/api/admin/stats", None, None),
    ]
    for method, template, url, auth, body in calls:
        response = await server.client.request(method, url, headers=bearer(auth) if auth else {}, json=body)
        op = doc["paths"][template][method]
        assert str(response.status_code) in op["responses"], (method, url, response.status_code)
        answer = op["responses"][str(response.status_code)]
        check_instance(doc, answer["content"]["application/json"]["schema"], response.json(), f"{method} {url}")


# -- switching plugins off ------------------------------------------------------------------
@pytest.mark.parametrize("off", ["catalog", "articles", "admin"])
async def test_a_switched_off_plugin_answers_404_and_leaves_the_document(tmp_path, db_url, off):
    names = [name for name in BUILT_IN if name != off]
    async with server_with_plugins(tmp_path, db_url, names) as server:
        admin, me = await server.admin()
        doc = await fetch_document(server)
        for path in PLUGIN_PATHS[off]:
            assert path not in doc["paths"]
            url = re.sub(r"{\w+}", str(me["id"]), path)
            for method in ("GET", "POST", "PUT", "DELETE"):
                response = await server.client.request(method, url, headers=bearer(admin), json={"name": "x"})
                assert_error(response, 404, "not_found")
        for other in names:
            for path in PLUGIN_PATHS.get(other, []):
                assert path in doc["paths"]
        assert {(p, m) for p, m, _ in operations(doc)} == set(registered_operations(server.app))
        assert await server.count("users") == 1


# -- how the document is made ------------------------------------------------------------------
async def test_the_document_is_built_once_per_app(server, monkeypatch):
    calls = []
    real = openapi.build_document

    def counting(routes, **kwargs):
        calls.append(1)
        return real(routes, **kwargs)

    monkeypatch.setattr(openapi, "build_document", counting)
    bodies = [(await server.client.get("/api/openapi.json")).content for _ in range(3)]
    assert len(calls) == 1 and bodies[0] == bodies[1] == bodies[2]


class Undocumented(BaseHandler):
    @access.public
    def get(self, name: str) -> None:
        self.write_json({"hello": name})

    @access.admin
    def delete(self, name: str) -> None:
        self.set_status(204)


class ThirdParty:
    @hookimpl
    def register_routes(self, app):
        return [(r"/api/hello/(?P<name>[a-z]+)", Undocumented)]


async def test_a_third_party_route_without_declarations_is_still_documented(make_server):
    server = await make_server(plugins=[ThirdParty()])
    doc = await fetch_document(server)
    item = doc["paths"]["/api/hello/{name}"]
    assert set(item) == {"get", "delete"}
    assert item["get"]["security"] == [] and item["delete"]["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "404"} <= set(item["delete"]["responses"])
    assert item["get"]["parameters"] == [{"in": "path", "name": "name", "required": True, "schema": {"type": "string", "pattern": "^[a-z]+$"}}]
    assert (await server.client.get("/api/hello/bob")).json() == {"hello": "bob"}


def test_tornado_patterns_become_openapi_paths():
    assert openapi.path_template(r"/api/products/(?P<product_id>[0-9]+)") == ("/api/products/{product_id}", [("product_id", "[0-9]+")])
    assert openapi.path_template(r"^/api/openapi\.json$") == ("/api/openapi.json", [])
    assert openapi.path_template(r"/a/([^/]+)/b/(\d+)") == ("/a/{arg1}/b/{arg2}", [("arg1", "[^/]+"), ("arg2", r"\d+")])
    assert openapi.path_template(r"/x/(?P<chat_id>(?:[0-9]+)@c\.us)") == ("/x/{chat_id}", [("chat_id", r"(?:[0-9]+)@c\.us")])
    with pytest.raises(ValueError, match="named group"):
        openapi.path_template(r"/x/(?:a|b)")


class LineSchema(Schema):
    id = fields.Integer(dump_only=True, required=True)
    quantity = fields.Integer(required=True)


class OrderSchema(Schema):
    id = fields.Integer(dump_only=True, required=True)
    note = fields.String(load_default="")
    secret = fields.String(load_only=True)
    lines = fields.List(fields.Nested(LineSchema), required=True)
    first = fields.Nested(LineSchema, allow_none=True)


class OrdersHandler(BaseHandler):
    @access.admin
    @openapi.doc(summary="Order", body=OrderSchema, responses={201: OrderSchema})
    def post(self) -> None: ...

    @access.admin
    @openapi.doc(summary="Change an order", body=OrderSchema(partial=True), responses={200: OrderSchema})
    def put(self) -> None: ...


def test_a_body_is_the_load_side_of_its_schema_down_to_nested_ones():
    doc = openapi.build_document([(r"/api/orders", OrdersHandler)])
    components = doc["components"]["schemas"]
    assert {"Order", "OrderInput", "OrderInputPartial", "Line", "LineInput"} <= set(components)
    body = doc["paths"]["/api/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/OrderInput"}
    order_input = components["OrderInput"]
    assert set(order_input["properties"]) == {"note", "secret", "lines", "first"}
    assert order_input["required"] == ["lines"]
    assert order_input["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/LineInput"}
    assert order_input["properties"]["first"] == {"allOf": [{"$ref": "#/components/schemas/LineInput"}], "nullable": True}
    assert set(components["LineInput"]["properties"]) == {"quantity"}
    order = components["Order"]
    assert set(order["properties"]) == {"id", "note", "lines", "first"}
    assert order["required"] == ["id", "lines", "note"]
    assert order["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/Line"}
    assert "required" not in components["OrderInputPartial"]

    # load_body validates with exactly that schema: read-only fields, also nested ones, are unknown.
    schema = openapi.declaration(OrdersHandler.post).body
    assert schema.load({"lines": [{"quantity": 2}]}) == {"lines": [{"quantity": 2}], "note": ""}
    with pytest.raises(ValidationError) as refused:
        schema.load({"id": 1, "lines": [{"id": 1, "quantity": 2}]})
    assert refused.value.messages == {"id": ["Unknown field."], "lines": {0: {"id": ["Unknown field."]}}}
    partial = openapi.declaration(OrdersHandler.put).body
    assert partial.partial is True and partial.load({"note": "x"}) == {"note": "x"}
    assert openapi.input_schema(OrderSchema) is type(schema) and openapi.input_schema(type(schema)) is type(schema)


def test_loading_without_a_declaration_is_a_programming_error():
    class NoDecl(BaseHandler):
        @access.public
        def post(self) -> None: ...

    class FakeRequest:
        method = "POST"

    handler = NoDecl.__new__(NoDecl)
    handler.request = FakeRequest()
    with pytest.raises(RuntimeError, match="declares no body schema"):
        openapi.load_body(handler)
    with pytest.raises(RuntimeError, match="declares no query schema"):
        openapi.load_query(handler)


# -- the page -----------------------------------------------------------------------------------
async def test_docs_page_and_its_files_are_served_from_the_installed_package(server):
    page = await server.client.get("/api/docs")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=UTF-8"
    html = page.text
    assert "<script>" not in html, "no inline script: the page's policy refuses it"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    init = await server.client.get("/api/docs/init.js")
    assert 'url: "openapi.json"' in init.text and "SwaggerUIBundle" in init.text
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html), "the page must not load anything from elsewhere"
    links = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert len(links) >= 3
    kinds = {".css": "text/css", ".js": "application/javascript", ".png": "image/png"}
    for link in links:
        response = await server.client.get(f"/api/{link}")
        assert response.status_code == 200, link
        suffix = link[link.rindex("."):]
        assert response.headers["Content-Type"].startswith(kinds[suffix]), link
        assert len(response.content) > 100
    bundle = await server.client.get("/api/docs/swagger-ui-bundle.js")
    assert len(bundle.content) > 500_000
    for bad in ("/api/docs/index.html", "/api/docs/nothing.js", "/api/docs/..%2F..%2Fsetup.cfg", "/api/docs/%2e%2e"):
        assert_error(await server.client.get(bad), 404, "not_found")


@pytest.mark.browser
async def test_swagger_ui_renders_every_operation_without_leaving_the_machine(server):
    from pyppeteer import launch

    doc = await fetch_document(server)
    expected = sum(1 for _ in operations(doc))
    browser = await launch(
        executablePath="/usr/bin/chromium",
        args=["--no-sandbox", "--headless", "--disable-gpu"],
        handleSIGINT=False, handleSIGTERM=False, handleSIGHUP=False,
    )
    try:
        page = await browser.newPage()
        requested: list[str] = []
        refused: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text or "Refused to" in message.text else None)
        await page.goto(f"{server.url}/api/docs", waitUntil="networkidle0")
        await page.waitForSelector(".opblock", timeout=30_000)
        shown = await page.evaluate("document.querySelectorAll('.opblock').length")
        title = await page.evaluate("document.querySelector('.info .title').textContent")
        has_authorize = await page.evaluate("!!document.querySelector('.btn.authorize')")
    finally:
        await browser.close()
    assert shown == expected
    assert refused == [], "the page works under its own policy"
    assert title.startswith("wamulti")
    assert has_authorize
    outside = [url for url in requested if not url.startswith(f"{server.url}/") and not url.startswith("data:")]
    assert outside == [] and len(requested) >= 4

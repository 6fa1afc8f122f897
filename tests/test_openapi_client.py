"""A client generated from the server's own OpenAPI document, driven against the real server.

openapi-python-client (what the outside review generated with) turns /api/openapi.json into a
typed package. Each test fetches the document from a running server (SQLite and MariaDB),
generates the package from it (once per distinct document: both databases serve the same one)
and goes through a resource with the generated functions, asserting on the typed models they
return: a body model must not ask for what the server sets (``id``, timestamps), an answer
model must carry it, and an error must come back as the typed ``Error``.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import importlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from tests.support.server import TEST_PASSWORD, Server, bearer

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE_PREFIX = "wamulti_client_"
GENERATION_TIMEOUT = 300


class GeneratedClient:
    """The generated package of one document, and typed clients of it for a server."""

    def __init__(self, package: ModuleType) -> None:
        self.package = package
        self.models = importlib.import_module(f"{package.__name__}.models")
        self.errors = importlib.import_module(f"{package.__name__}.errors")
        self.types = importlib.import_module(f"{package.__name__}.types")

    def api(self, name: str) -> ModuleType:
        """A generated operation module, e.g. ``api("catalog.post_products")``."""
        return importlib.import_module(f"{self.package.__name__}.api.{name}")

    def client(self, server: Server, token: str | None = None) -> Any:
        """A client that raises on any status the document does not declare for the operation."""
        if token is None:
            return self.package.Client(base_url=server.url, raise_on_unexpected_status=True)
        return self.package.AuthenticatedClient(base_url=server.url, token=token, raise_on_unexpected_status=True)


Generate = Callable[[Server, Path], Awaitable[GeneratedClient]]


@pytest.fixture(scope="module")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generate]:
    """``await generate(server, tmp_path)``: the server's document, written to ``tmp_path``,
    as an imported generated package. A document generates once per module (by its hash,
    which also names the package, so a changed document is never served from the import cache)."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no ruff formatting of the generated code
    made: dict[str, GeneratedClient] = {}
    sys.path.insert(0, str(root))

    async def load(server: Server, where: Path) -> GeneratedClient:
        response = await server.client.get("/api/openapi.json")
        assert response.status_code == 200
        document = where / "openapi.json"
        document.write_bytes(response.content)
        digest = hashlib.sha256(response.content).hexdigest()[:16]
        if digest not in made:
            name = f"{PACKAGE_PREFIX}{digest}"
            output = await run_generator(document, root / name, config)
            assert "warning" not in output.lower() and "error" not in output.lower(), output
            made[digest] = GeneratedClient(importlib.import_module(name))
        return made[digest]

    yield load
    sys.path.remove(str(root))
    for module in [m for m in sys.modules if m.startswith(PACKAGE_PREFIX)]:
        del sys.modules[module]


async def run_generator(document: Path, output: Path, config: Path) -> str:
    """Run openapi-python-client; fail with its output unless it generated without a warning."""
    assert GENERATOR.exists(), "openapi-python-client is missing: pip install -e '.[test]'"
    proc = await asyncio.create_subprocess_exec(
        str(GENERATOR), "generate", "--path", str(document), "--output-path", str(output),
        "--meta", "none", "--config", str(config), "--fail-on-warning",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), GENERATION_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.communicate()
        raise AssertionError(f"openapi-python-client ran past {GENERATION_TIMEOUT}s") from None
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"openapi-python-client failed (exit {proc.returncode}):\n{text}"
    assert (output / "models" / "__init__.py").exists(), text
    return text


@contextlib.asynccontextmanager
async def clients(gen: GeneratedClient, server: Server, *tokens: str | None) -> AsyncIterator[list[Any]]:
    """Generated clients, one per token (None: anonymous), closed afterwards."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(gen.client(server, token)) for token in tokens]


def assert_typed_error(gen: GeneratedClient, response: Any, status: int, code: str) -> Any:
    """The answer parsed as the generated ``Error`` model, with that status and code."""
    assert response.status_code == status, response.content
    error = response.parsed
    assert isinstance(error, gen.models.Error), error
    assert isinstance(error.error, gen.models.ErrorDetail)
    assert (error.error.status, error.error.code) == (status, code)
    assert error.error.message
    return error.error


def field_names(model: type) -> set[str]:
    return set(attrs.fields_dict(model))


# -- the generated package itself ------------------------------------------------------------------
async def test_the_generated_models_separate_inputs_from_answers_and_keep_nested_types(server, generate, tmp_path):
    gen = await generate(server, tmp_path)
    models = gen.models
    read_only = {"id", "created_at", "updated_at"}
    for model in (models.ProductInput, models.ProductInputPartial, models.ArticleInput, models.ArticleInputPartial):
        assert not field_names(model) & read_only, model
    assert read_only <= field_names(models.Product) and read_only <= field_names(models.Article)
    assert field_names(models.RegisterInput) == {"username", "password", "full_name", "email"}
    assert "password" not in field_names(models.User)
    # only the model's name is needed to create one; every field is optional in an update
    models.ProductInput(name="Mug")
    assert models.ProductInputPartial(points=3).to_dict() == {"points": 3}
    with pytest.raises(TypeError):
        models.ProductInput()  # name is required

    # Chat.lastMessage: a Message or None, not an untyped object of its own.
    message = {
        "id": "m1", "chatId": "1@c.us", "from": "1@c.us", "to": "2@c.us", "author": None, "body": "hi",
        "type": "chat", "fromMe": False, "ack": 2, "timestamp": "2026-01-01T00:00:00Z", "caption": None,
        "quotedId": None, "quoted": None, "media": None, "location": None, "edited": False, "revoked": False,
        "reactions": [], "sentBy": None,
    }
    chat = {"id": "1@c.us", "name": "Bob", "isGroup": False, "unreadCount": 1, "timestamp": "2026-01-01T00:00:00Z"}
    with_message = models.Chat.from_dict({**chat, "lastMessage": message})
    assert isinstance(with_message.last_message, models.Message)
    assert with_message.last_message.body == "hi" and with_message.last_message.from_ == "1@c.us"
    assert with_message.to_dict()["lastMessage"] == message
    assert models.Chat.from_dict({**chat, "lastMessage": None}).last_message is None
    assert not [name for name in dir(models) if "Type0" in name or "Type1" in name]


# -- products ----------------------------------------------------------------------------------------
async def test_products_through_the_generated_client(server, generate, tmp_path):
    gen = await generate(server, tmp_path)
    models = gen.models
    admin_token, _ = await server.admin()
    async with clients(gen, server, None, admin_token) as (public, admin):
        created = await gen.api("catalog.post_products").asyncio_detailed(
            client=admin, body=models.ProductInput(name="Coffee mug", price="19.90", points=5, description="Blue"),
        )
        assert created.status_code == 201
        product = created.parsed
        assert isinstance(product, models.Product)
        assert isinstance(product.id, int) and product.id > 0
        assert (product.name, product.price, product.points, product.description, product.image) == (
            "Coffee mug", "19.90", 5, "Blue", "",
        )
        assert isinstance(product.created_at, datetime.datetime) and product.created_at.tzinfo is not None
        assert created.headers["Location"] == f"/api/products/{product.id}"

        other = await gen.api("catalog.post_products").asyncio(client=admin, body=models.ProductInput(name="Tea pot"))
        assert isinstance(other, models.Product) and other.price == "0.00" and other.points == 0

        got = await gen.api("catalog.get_product").asyncio(product_id=product.id, client=public)
        assert isinstance(got, models.Product) and got.to_dict() == product.to_dict()

        changed = await gen.api("catalog.put_product").asyncio(
            product_id=product.id, client=admin, body=models.ProductInputPartial(price="5.00"),
        )
        assert isinstance(changed, models.Product)
        assert (changed.price, changed.name, changed.points, changed.description) == ("5.00", "Coffee mug", 5, "Blue")
        assert changed.created_at == product.created_at

        found = await gen.api("catalog.get_products").asyncio(client=public, q="coffee")
        assert isinstance(found, models.ProductList)
        assert (found.total, found.limit, found.offset) == (1, 50, 0)
        assert [type(item) for item in found.items] == [models.Product] and found.items[0].price == "5.00"
        every = await gen.api("catalog.get_products").asyncio(client=public, limit=1, offset=1)
        assert every.total == 2 and [item.name for item in every.items] == ["Tea pot"]

        bad = await gen.api("catalog.post_products").asyncio_detailed(
            client=admin, body=models.ProductInput(name="Mug", price="1.999"),
        )
        assert "price" in assert_typed_error(gen, bad, 422, "validation_failed").fields.additional_properties
        anonymous = await gen.api("catalog.post_products").asyncio_detailed(client=public, body=models.ProductInput(name="X"))
        assert_typed_error(gen, anonymous, 401, "unauthorized")
        assert await server.count("products") == 2

        deleted = await gen.api("catalog.delete_product").asyncio_detailed(product_id=product.id, client=admin)
        assert deleted.status_code == 204
        gone = await gen.api("catalog.get_product").asyncio_detailed(product_id=product.id, client=public)
        assert_typed_error(gen, gone, 404, "not_found")
        assert (await gen.api("catalog.get_products").asyncio(client=public)).total == 1


# -- articles ------------------------------------------------------------------------------------------
async def test_articles_through_the_generated_client(server, generate, tmp_path):
    gen = await generate(server, tmp_path)
    models = gen.models
    admin_token, admin_user = await server.admin()
    async with clients(gen, server, None, admin_token) as (public, admin):
        created = await gen.api("articles.post_articles").asyncio_detailed(
            client=admin, body=models.ArticleInput(title="Opening hours", content="9 to 5"),
        )
        assert created.status_code == 201
        article = created.parsed
        assert isinstance(article, models.Article) and article.id > 0
        assert (article.title, article.content, article.image) == ("Opening hours", "9 to 5", "")
        assert article.author == (admin_user["fullName"] or admin_user["username"])
        assert isinstance(article.updated_at, datetime.datetime)

        signed = await gen.api("articles.post_articles").asyncio(
            client=admin, body=models.ArticleInput(title="Holidays", author="The shop", image="https://example.com/a.png"),
        )
        assert isinstance(signed, models.Article) and (signed.author, signed.image) == ("The shop", "https://example.com/a.png")

        got = await gen.api("articles.get_article").asyncio(article_id=article.id, client=public)
        assert isinstance(got, models.Article) and got.to_dict() == article.to_dict()

        changed = await gen.api("articles.put_article").asyncio(
            article_id=article.id, client=admin, body=models.ArticleInputPartial(title="Opening hours (summer)"),
        )
        assert isinstance(changed, models.Article)
        assert (changed.title, changed.content, changed.author) == ("Opening hours (summer)", "9 to 5", article.author)

        found = await gen.api("articles.get_articles").asyncio(client=public, q="SUMMER")
        assert isinstance(found, models.ArticleList) and found.total == 1
        assert [type(item) for item in found.items] == [models.Article] and found.items[0].id == article.id

        empty = await gen.api("articles.put_article").asyncio_detailed(
            article_id=article.id, client=admin, body=models.ArticleInputPartial(),
        )
        assert_typed_error(gen, empty, 422, "validation_failed")
        bad = await gen.api("articles.post_articles").asyncio_detailed(
            client=admin, body=models.ArticleInput(title="Pictured", image="ftp://example.com/a.png"),
        )
        assert "image" in assert_typed_error(gen, bad, 422, "validation_failed").fields.additional_properties
        assert await server.count("articles") == 2

        deleted = await gen.api("articles.delete_article").asyncio_detailed(article_id=article.id, client=admin)
        assert deleted.status_code == 204
        assert_typed_error(gen, await gen.api("articles.delete_article").asyncio_detailed(article_id=article.id, client=admin), 404, "not_found")
        remaining = await gen.api("articles.get_articles").asyncio(client=public)
        assert remaining.total == 1 and remaining.items[0].title == "Holidays"


# -- accounts: register, login, profile, administration ----------------------------------------------
async def test_accounts_through_the_generated_client(server, generate, tmp_path):
    gen = await generate(server, tmp_path)
    models = gen.models
    admin_token, admin_user = await server.admin()
    async with clients(gen, server, None, admin_token) as (public, admin):
        registered = await gen.api("auth.post_register").asyncio_detailed(
            client=public, body=models.RegisterInput(username="carol", password=TEST_PASSWORD, full_name="Carol"),
        )
        assert registered.status_code == 201
        signed_in = registered.parsed
        assert isinstance(signed_in, models.SignedIn) and isinstance(signed_in.user, models.User)
        carol = signed_in.user
        assert (carol.username, carol.full_name, carol.email, carol.role, carol.points) == (
            "carol", "Carol", "", models.UserRole.USER, 0,
        )
        taken = await gen.api("auth.post_register").asyncio_detailed(
            client=public, body=models.RegisterInput(username="Carol", password=TEST_PASSWORD),
        )
        assert "username" in assert_typed_error(gen, taken, 409, "conflict").fields.additional_properties

        login = await gen.api("auth.post_login").asyncio(
            client=public, body=models.LoginInput(username="carol", password=TEST_PASSWORD),
        )
        assert isinstance(login, models.SignedIn) and login.user.id == carol.id and login.token
        wrong = await gen.api("auth.post_login").asyncio_detailed(
            client=public, body=models.LoginInput(username="carol", password="not the password"),
        )
        assert_typed_error(gen, wrong, 401, "unauthorized")

        async with clients(gen, server, login.token) as (me,):
            profile = await gen.api("auth.get_profile").asyncio(client=me)
            assert isinstance(profile, models.User) and profile.to_dict() == carol.to_dict()
            updated = await gen.api("auth.put_profile").asyncio(
                client=me, body=models.ProfileUpdateInput(email="carol@example.com", full_name="Carol C."),
            )
            assert isinstance(updated, models.ProfileAnswer)
            assert (updated.email, updated.full_name, updated.username) == ("carol@example.com", "Carol C.", "carol")
            assert isinstance(updated.token, gen.types.Unset)  # no new password, no new token
            refused = await gen.api("auth.put_profile").asyncio_detailed(
                client=me, body=models.ProfileUpdateInput(password="a new long password", current_password="wrong one"),
            )
            assert_typed_error(gen, refused, 401, "unauthorized")
            changed = await gen.api("auth.put_profile").asyncio(
                client=me, body=models.ProfileUpdateInput(password="a new long password", current_password=TEST_PASSWORD),
            )
            assert isinstance(changed, models.ProfileAnswer) and changed.token and changed.token != login.token
            stale = await gen.api("auth.get_profile").asyncio_detailed(client=me)
            assert_typed_error(gen, stale, 401, "unauthorized")  # the other tokens stopped working

        async with clients(gen, server, changed.token) as (me,):
            bad = await gen.api("auth.put_profile").asyncio_detailed(client=me, body=models.ProfileUpdateInput(email="nope"))
            assert "email" in assert_typed_error(gen, bad, 422, "validation_failed").fields.additional_properties
            not_admin = await gen.api("admin.get_users").asyncio_detailed(client=me)
            assert_typed_error(gen, not_admin, 403, "forbidden")

        users = await gen.api("admin.get_users").asyncio(client=admin)
        assert isinstance(users, models.UserList) and users.total == 2
        assert [type(user) for user in users.items] == [models.User, models.User]
        admins = await gen.api("admin.get_users").asyncio(client=admin, role=models.GetUsersRole.ADMIN)
        assert [user.username for user in admins.items] == [admin_user["username"]] and admins.total == 1
        searched = await gen.api("admin.get_users").asyncio(client=admin, q="example.com", role=models.GetUsersRole.USER)
        assert [user.id for user in searched.items] == [carol.id]

        promoted = await gen.api("admin.put_user_role").asyncio(
            user_id=carol.id, client=admin, body=models.RoleInput(role=models.RoleInputRole.ADMIN),
        )
        assert isinstance(promoted, models.User) and promoted.role == models.UserRole.ADMIN
        assert (await gen.api("admin.get_users").asyncio(client=admin, role=models.GetUsersRole.ADMIN)).total == 2
        async with clients(gen, server, login.token) as (old_token,):  # a role change revokes the tokens
            assert_typed_error(gen, await gen.api("auth.get_profile").asyncio_detailed(client=old_token), 401, "unauthorized")

        deleted = await gen.api("admin.delete_user").asyncio_detailed(user_id=carol.id, client=admin)
        assert deleted.status_code == 204
        assert_typed_error(gen, await gen.api("admin.delete_user").asyncio_detailed(user_id=carol.id, client=admin), 404, "not_found")
        remaining = await gen.api("admin.get_users").asyncio(client=admin)
        assert [user.username for user in remaining.items] == [admin_user["username"]]
    assert await server.count("users") == 1
    response = await server.client.get("/api/admin/users", headers=bearer(admin_token))
    assert response.json()["total"] == 1

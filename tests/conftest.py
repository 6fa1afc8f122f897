"""Shared fixtures: a real server on a free port, over SQLite and MariaDB.

The helpers these fixtures use live in tests/support/, which test modules import from.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from server.app import build_app
from tests.support.clients import harness, make_harness  # noqa: F401 - fixtures
from tests.support.mariadb import own_mariadb  # noqa: F401 - fixture
from tests.support.server import DEFAULT_CONFIG, Server, mysql_database, test_config
from tests.support.ws import clients  # noqa: F401 - fixture

pytest_plugins = ["tests.fakewa.pytest_plugin"]


@pytest.fixture(params=["sqlite", "mysql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Every test that takes this runs once on SQLite and once on MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wamulti.db'}"
    else:
        with mysql_database() as url:
            yield url


@pytest.fixture
async def make_server(tmp_path: Path, db_url: str) -> AsyncIterator[Any]:
    """A factory: ``await make_server(**config_overrides)`` starts a server on a free port."""
    started: list[Server] = []

    async def factory(*, plugins: list[Any] | None = None, **overrides: Any) -> Server:
        app = build_app(DEFAULT_CONFIG, overrides=test_config(tmp_path, db_url, **overrides), environ={}, entry_points=False)
        for plugin in plugins or []:
            app.plugins.register(plugin)
        await app.start(port=0, host="127.0.0.1")
        server = Server(app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30))
        started.append(server)
        return server

    yield factory
    for server in reversed(started):
        await server.client.aclose()
        await server.app.stop()


@pytest.fixture
async def server(make_server: Any) -> Server:
    return await make_server()

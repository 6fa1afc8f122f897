"""A real server on a free port, and what tests need to talk to it: the test configuration,
MariaDB databases of their own, spawned server processes, and the error-shape check."""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pymysql
import pytest

from server.app import WamultiApp, build_app

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "config.yaml"
MYSQL_URL = os.environ.get("WAMULTI_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
MYSQL_REQUIRED = os.environ.get("WAMULTI_TEST_MYSQL", "").lower() == "required"
TEST_PASSWORD = "correct horse battery"
# Every migration of the core and the built-in plugins, in the order a new database gets them.
BUILTIN_MIGRATIONS = [
    "core/0001_initial.sql", "core/0002_canonical_usernames.sql", "catalog/0001_products.sql",
    "articles/0001_articles.sql", "whatsapp/0001_sessions_chats_messages.sql", "whatsapp/0002_rich_messages.sql",
    "whatsapp/0003_media.sql", "whatsapp/0004_lids_contacts.sql", "whatsapp/0005_search.sql", "whatsapp/0006_cluster.sql", "whatsapp/0007_message_counts.sql", "apikeys/0001_api_keys.sql",
    "orders/0001_orders_points.sql", "webhooks/0001_webhooks.sql",
]

os.environ.setdefault("PYPPETEER_SKIP_CHROMIUM_DOWNLOAD", "1")


def _mysql_server() -> dict[str, Any]:
    parsed = urlparse(MYSQL_URL)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 3306,
        "user": parsed.username or "root",
        "password": parsed.password or "",
    }


@contextlib.contextmanager
def mysql_database() -> Any:
    """A fresh MariaDB database for one test, dropped afterwards; its URL is yielded."""
    server = _mysql_server()
    try:
        conn = pymysql.connect(connect_timeout=3, **server)
    except pymysql.err.OperationalError as exc:
        message = f"MariaDB is not reachable at {MYSQL_URL}: {exc}"
        if MYSQL_REQUIRED:
            pytest.fail(message + " (WAMULTI_TEST_MYSQL=required)")
        pytest.skip(message + "; set WAMULTI_TEST_MYSQL=required to make this a failure")
    name = f"wamulti_test_{uuid.uuid4().hex[:12]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    try:
        yield f"mysql://{auth}@{server['host']}:{server['port']}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Server:
    """A running wamulti server and an HTTP client pointed at it."""

    app: WamultiApp
    client: httpx.AsyncClient
    _users: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.app.port}/ws"

    async def register(self, username: str | None = None, password: str = TEST_PASSWORD, **extra: Any) -> tuple[str, dict]:
        self._users += 1
        username = username or f"user{self._users}_{uuid.uuid4().hex[:6]}"
        response = await self.client.post("/api/auth/register", json={"username": username, "password": password, **extra})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["token"], body["user"]

    async def admin(self, username: str = "admin", password: str = TEST_PASSWORD) -> tuple[str, dict]:
        """Create an administrator the way an operator does (`wamulti create-admin`) and sign in."""
        from plugins.auth.commands import create_admin

        with contextlib.redirect_stdout(io.StringIO()):
            assert await create_admin(self.app, argparse.Namespace(username=username, password=password)) == 0
        response = await self.client.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["token"], response.json()["user"]

    async def count(self, table: str) -> int:
        return int(await self.app.db.fetch_value(f"SELECT COUNT(*) AS n FROM {table}"))


@contextlib.contextmanager
def spawned_server(args: list[str], *, cwd: Path, env: dict[str, str]) -> Any:
    """Run `wamulti ... serve --port 0` in its own process; yield (process, port)."""
    import re
    import subprocess
    import sys
    import time

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
    full_env.setdefault("PYTHONPATH", str(ROOT))
    full_env.update(env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args, "serve", "--port", "0"],
        cwd=cwd, env=full_env, stderr=subprocess.PIPE, text=True,
    )
    try:
        port, seen = None, []
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen.append(line)
            assert line, "the server exited before listening:\n" + "".join(seen)
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            port = int(match.group(1)) if match else None
        assert port, "the server never said where it listens"
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_config(tmp_path: Path, db_url: str, **overrides: Any) -> dict[str, Any]:
    base = {
        "data_dir": str(tmp_path / "data"),
        "database": {"url": db_url},
        # Tests register many users and try many passwords from one address; the limits have
        # tests of their own (test_security_hardening.py).
        "auth": {"bcrypt_rounds": 4, "register_max_per_address": 100_000, "login_max_failures_per_address": 100_000,
                 "login_max_failures_global": 100_000},
        "logging": {"level": "DEBUG"},
    }
    return deep_merge(base, overrides)


test_config.__test__ = False  # a helper, not a test


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]

@contextlib.asynccontextmanager
async def server_with_plugins(tmp_path, db_url, names: list[str], extra: list[Any] = ()):
    """A server with exactly the named built-in plugins (and extra plugin objects)."""
    app = build_app(DEFAULT_CONFIG, overrides=test_config(tmp_path, db_url, plugins=names), environ={}, entry_points=False)
    for plugin in extra:
        app.plugins.register(plugin)
    await app.start(port=0, host="127.0.0.1")
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=30)
    try:
        yield Server(app, client)
    finally:
        await client.aclose()
        await app.stop()

"""Plugins: the entry-point path third parties use, and the checks that stop a broken start."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server import access, hookimpl
from server.access import UndeclaredAccess
from server.app import build_app
from server.handlers import BaseHandler
from tests.support.server import DEFAULT_CONFIG, ROOT, spawned_server

THROWAWAY = '''
from importlib import resources

from server import access, hookimpl
from server.handlers import BaseHandler
from marshmallow import Schema, fields


class GreetingConfig(Schema):
    greeting = fields.String(load_default="hello")


class Hello(BaseHandler):
    @access.public
    async def get(self):
        stored = await self.db.fetch_value("SELECT text FROM throwaway_greetings")
        self.write_json({"greeting": self.config["throwaway"]["greeting"], "stored": stored})


@hookimpl
def register_migrations(dialect):
    return resources.files("wamulti_throwaway") / "sql" / dialect


@hookimpl
def config_schema():
    return {"throwaway": GreetingConfig}


@hookimpl
def register_routes(app):
    return [(r"/api/throwaway", Hello)]


@hookimpl
def register_commands(subparsers):
    parser = subparsers.add_parser("throwaway-greet")
    parser.set_defaults(handler=greet)


async def greet(app, args):
    print("greetings from", app.db.backend)
    return 0
'''


def install_throwaway_plugin(folder: Path) -> Path:
    """Install a plugin the way pip would: a package with its migrations, and a dist-info with an
    entry point. Returns the package's module file."""
    package = folder / "wamulti_throwaway"
    package.mkdir()
    (package / "__init__.py").write_text(THROWAWAY)
    for dialect in ("sqlite", "mysql"):
        (package / "sql" / dialect).mkdir(parents=True)
        (package / "sql" / dialect / "0001_greetings.sql").write_text(
            "CREATE TABLE throwaway_greetings (text VARCHAR(40) NOT NULL);\n"
            "INSERT INTO throwaway_greetings (text) VALUES ('from its own migration');\n")
    dist = folder / "wamulti_throwaway-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wamulti-throwaway\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[wamulti]\nthrowaway = wamulti_throwaway\n")
    return package / "__init__.py"


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
    env["PYTHONPATH"] = f"{site}{os.pathsep}{ROOT}"
    env["WAMULTI_AUTH__BCRYPT_ROUNDS"] = "4"
    env["WAMULTI_THROWAWAY__GREETING"] = "hi there"
    return env


def test_a_third_party_plugin_installed_by_entry_point_serves_routes_and_commands(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_throwaway_plugin(site)
    work = tmp_path / "work"
    work.mkdir()
    command = subprocess.run(
        [sys.executable, "-m", "server.cli", "--config", str(DEFAULT_CONFIG), "throwaway-greet"],
        cwd=work, env=_env(site), capture_output=True, text=True, timeout=60,
    )
    assert command.returncode == 0, command.stderr
    assert "greetings from sqlite" in command.stdout

    with spawned_server(["--config", str(DEFAULT_CONFIG)], cwd=work, env=_env(site)) as (proc, port):
        response = httpx.get(f"http://127.0.0.1:{port}/api/throwaway", timeout=10)
        assert response.json() == {"greeting": "hi there", "stored": "from its own migration"}
    assert proc.returncode == 0


def test_an_installed_plugin_named_in_disabled_plugins_is_not_loaded(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install_throwaway_plugin(site)
    env = {**_env(site), "WAMULTI_DISABLED_PLUGINS": "[throwaway]"}  # its section may stay set
    command = subprocess.run(
        [sys.executable, "-m", "server.cli", "--config", str(DEFAULT_CONFIG), "throwaway-greet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert command.returncode != 0
    assert "throwaway-greet" in command.stderr and "Traceback" not in command.stderr
    with spawned_server(["--config", str(DEFAULT_CONFIG)], cwd=tmp_path, env=env) as (proc, port):
        assert httpx.get(f"http://127.0.0.1:{port}/api/throwaway", timeout=10).status_code == 404


class Unmarked(BaseHandler):
    async def get(self) -> None:  # no access mark: the server must refuse to start
        self.write_json({})


class UnmarkedPlugin:
    @hookimpl
    def register_routes(self, app):
        return [(r"/api/unmarked", Unmarked)]


class PartlyMarked(BaseHandler):
    @access.public
    def get(self) -> None:
        self.write_json({})

    def delete(self) -> None:
        self.set_status(204)


class PartlyMarkedPlugin:
    @hookimpl
    def register_routes(self, app):
        return [(r"/api/partly", PartlyMarked)]


@pytest.mark.parametrize("plugin, culprit", [(UnmarkedPlugin(), "Unmarked.get"), (PartlyMarkedPlugin(), "PartlyMarked.delete")])
async def test_start_up_fails_when_a_handler_method_has_no_access_level(tmp_path, plugin, culprit):
    app = build_app(
        DEFAULT_CONFIG,
        overrides={"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/db.sqlite"}},
        environ={},
        entry_points=False,
    )
    app.plugins.register(plugin)
    with pytest.raises(UndeclaredAccess) as info:
        await app.start(port=0)
    assert culprit in str(info.value)
    assert app.http_server is None
    await app.stop()


def test_a_plugin_with_a_misspelled_hook_stops_start_up(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    module = install_throwaway_plugin(site)
    module.write_text(module.read_text().replace("def register_routes(app)", "def register_route(app)"))
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "--config", str(DEFAULT_CONFIG), "migrate"],
        cwd=tmp_path, env=_env(site), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "register_route" in result.stderr and "Traceback" not in result.stderr


class Broken:
    """A plugin whose notification hooks fail."""

    @hookimpl
    def shutdown(self, app):
        raise RuntimeError("shutdown failed")

    @hookimpl
    async def user_deleted(self, app, user_id):
        raise RuntimeError("user_deleted failed")


class Listening:
    def __init__(self) -> None:
        self.heard: list[str] = []

    @hookimpl
    def shutdown(self, app):
        self.heard.append("shutdown")

    @hookimpl
    def user_deleted(self, app, user_id):
        self.heard.append(f"user_deleted {user_id}")


async def test_a_failing_notification_hook_neither_skips_the_others_nor_keeps_the_database_open(tmp_path, caplog):
    """Broken is registered last, so pluggy calls it first."""
    from server.plugins import notify_hook

    app = build_app(DEFAULT_CONFIG, overrides={"data_dir": str(tmp_path), "database": {"url": f"sqlite:///{tmp_path}/db.sqlite"},
                                               "events": {"backend": "memory"}}, environ={}, entry_points=False)
    listening = Listening()
    app.plugins.register(listening)
    app.plugins.register(Broken())
    await app.start(port=0)
    await notify_hook(app.plugins, "user_deleted", app=app, user_id=7)
    db, events = app.db, app.events
    await app.stop()
    assert listening.heard == ["user_deleted 7", "shutdown"]
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("user_deleted hook of plugin" in f for f in failures) and any("shutdown hook of plugin" in f for f in failures)
    assert app.db is None and app.events is None
    with pytest.raises(Exception):
        await db.fetch_value("SELECT 1")  # closed
    assert events.subscriber_count() == 0

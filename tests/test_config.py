"""Configuration: defaults, environment overrides, one-line errors, the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.app import build_app
from server.config import ConfigError
from tests.support.server import DEFAULT_CONFIG, ROOT

WAMULTI = [sys.executable, "-m", "server.cli"]


def run_cli(*args: str, cwd: Path, env: dict | None = None, stdin: str | None = None, timeout: float = 60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run(
        [*WAMULTI, *args], cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def test_the_shipped_config_is_the_embedded_default():
    app = build_app(DEFAULT_CONFIG, environ={}, entry_points=False)
    assert app.config.server.host == "127.0.0.1" and app.config.server.port == 8080
    assert app.config.database.url == "sqlite:///data/wamulti.db"
    assert app.config.data_dir == "data"
    assert "auth" in app.config.plugins


def test_environment_overrides_any_key():
    env = {
        "WAMULTI_SERVER__PORT": "9000",
        "WAMULTI_DATA_DIR": "/tmp/wamulti-elsewhere",
        "WAMULTI_AUTH__BCRYPT_ROUNDS": "5",
        "WAMULTI_SERVER__CORS_ORIGINS": "[https://a.example, https://b.example]",
        "WAMULTI_TEST_MYSQL": "required",  # not a section: ignored
    }
    app = build_app(DEFAULT_CONFIG, environ=env, entry_points=False)
    assert app.config.server.port == 9000
    assert app.config.data_dir == "/tmp/wamulti-elsewhere"
    assert app.config.database.url == "sqlite:////tmp/wamulti-elsewhere/wamulti.db"
    assert app.config["auth"]["bcrypt_rounds"] == 5
    assert app.config.server.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"server": {"port": "eighty"}}, "server.port"),
        ({"server": {"port": 70000}}, "server.port"),
        ({"server": {"prot": 1}}, "server.prot"),
        ({"database": {"url": "postgres://x"}}, "database.url"),
        ({"auth": {"bcrypt_rounds": 99}}, "auth.bcrypt_rounds"),
        ({"auth": {"jwt_secret": "short"}}, "auth.jwt_secret"),
        ({"plugins": ["auth", "nosuchplugin"]}, "plugins"),
        ({"mystery": {"a": 1}}, "mystery"),
        ({"whatsapp": {"chromium_args": ["--remote-debugging-port=9222"]}}, "whatsapp.chromium_args"),
        ({"whatsapp": {"chromium_args": ["no-dashes"]}}, "whatsapp.chromium_args"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as info:
        build_app(DEFAULT_CONFIG, overrides=overrides, environ={}, entry_points=False)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"config: {key}")


def test_serve_with_a_bad_config_exits_with_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("server:\n  port: eighty\n")
    result = run_cli("--config", "bad.yaml", "serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["wamulti: config: server.port: Not a valid integer."]


def test_migrate_command_is_safe_to_run_twice(tmp_path):
    first = run_cli("--config", str(DEFAULT_CONFIG), "migrate", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applying migration core/0001_initial.sql" in first.stderr
    second = run_cli("--config", str(DEFAULT_CONFIG), "migrate", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "applying migration" not in second.stderr
    assert (tmp_path / "data" / "wamulti.db").exists()
    secret = tmp_path / "data"
    assert secret.is_dir()


def test_create_admin_cli_reads_the_password_from_stdin(tmp_path):
    result = run_cli("--config", str(DEFAULT_CONFIG), "create-admin", "--username", "boss",
                     cwd=tmp_path, stdin="a long enough password\n", env={"WAMULTI_AUTH__BCRYPT_ROUNDS": "4"})
    assert result.returncode == 0, result.stderr
    assert "Administrator boss created." in result.stdout
    weak = run_cli("--config", str(DEFAULT_CONFIG), "create-admin", "--username", "boss2", "--password", "short",
                   cwd=tmp_path)
    assert weak.returncode == 2 and "password" in weak.stderr
    assert "short" not in weak.stderr


def test_generated_jwt_secret_is_private(tmp_path):
    result = run_cli("--config", str(DEFAULT_CONFIG), "create-admin", "--username", "boss", "--password",
                     "a long enough password", cwd=tmp_path, env={"WAMULTI_AUTH__BCRYPT_ROUNDS": "4"})
    assert result.returncode == 0, result.stderr
    secret = tmp_path / "data" / "jwt_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 32
    assert secret.read_text().strip() not in result.stderr + result.stdout


# -- errors an operator meets: one line each, that says what to do --------------------------------
def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


def test_a_port_in_use_is_one_line(tmp_path):
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        result = run_cli("--config", str(DEFAULT_CONFIG), "serve", "--port", str(port), cwd=tmp_path)
    finally:
        holder.close()
    assert result.returncode == 1
    assert one_line(result) == (f"wamulti: 127.0.0.1:{port} is in use by another program: stop it, or choose another "
                                "port with --port or server.port")


@pytest.mark.parametrize("url, said", [
    ("mysql://root@127.0.0.1:3306", "the MySQL URL names no database: add it, as in mysql://user:password@host:3306/wamulti"),
    ("postgres://db/x", "postgres:// is not supported: use sqlite:///relative/path.db, sqlite:////absolute/path.db "
                        "or mysql://user:password@host:3306/database"),
    ("data/wamulti.db", "a URL without a scheme is not supported: use sqlite:///relative/path.db, "
                        "sqlite:////absolute/path.db or mysql://user:password@host:3306/database"),
])
def test_a_database_url_that_cannot_work_is_one_line(tmp_path, url, said):
    result = run_cli("--config", str(DEFAULT_CONFIG), "migrate", cwd=tmp_path, env={"WAMULTI_DATABASE__URL": url})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"wamulti: config: database.url: {said}"]


def test_the_log_level_is_read_in_any_case(tmp_path):
    app = build_app(DEFAULT_CONFIG, overrides={"logging": {"level": "info"}}, environ={}, entry_points=False)
    assert app.config.logging.level == "INFO"
    result = run_cli("--config", str(DEFAULT_CONFIG), "migrate", cwd=tmp_path, env={"WAMULTI_LOGGING__LEVEL": "warning"})
    assert result.returncode == 0, result.stderr
    assert "applying migration" not in result.stderr  # INFO lines left out at WARNING


def test_no_config_file_here_is_one_line_and_creates_nothing(tmp_path):
    result = run_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result).startswith(f"wamulti: no config.yaml in {tmp_path}: ")
    assert "--config PATH" in one_line(result) and "wamulti init" in one_line(result)
    assert list(tmp_path.iterdir()) == []  # no data folder appeared
    written = run_cli("init", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "config.yaml").exists()
    again = run_cli("init", cwd=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr
    migrated = run_cli("migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "data" / "wamulti.db").exists()


def test_config_works_after_the_sub_command_as_well(tmp_path):
    (tmp_path / "other.yaml").write_text(f"data_dir: {tmp_path / 'elsewhere'}\n")
    result = run_cli("migrate", "--config", "other.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "elsewhere" / "wamulti.db").exists()


async def test_a_missing_chromium_is_said_at_start_up(tmp_path):
    from tests.support.faults import ServerProcess, write_config

    config = write_config(tmp_path / "config.yaml", data_dir=str(tmp_path / "data"),
                          whatsapp={"chromium": "/nonexistent/chromium"})
    server = ServerProcess(config, cwd=tmp_path, log=tmp_path / "server.log")
    await server.start()
    await server.stop()
    said = [line for line in server.log_text().splitlines() if "Chromium not found" in line]
    assert len(said) == 1 and "ERROR" in said[0]
    assert said[0].endswith("Chromium not found: install Debian's `chromium` package or set whatsapp.chromium in config.yaml "
                            "(configured: '/nonexistent/chromium' is not an executable file); "
                            "WhatsApp sessions cannot start until it is installed")

"""The wheel, as someone installs it who never cloned the repository: built from this tree,
installed into a fresh virtualenv, then `wamulti init`, `migrate` and `serve` from an empty folder."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.server import BUILTIN_MIGRATIONS, ROOT, TEST_PASSWORD

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAMULTI_", "PYTHONPATH", "VIRTUAL_ENV"))}
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding wamulti from its wheel (and its dependencies from the package index)."""
    base = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", base / "dist", ROOT, cwd=base)
    assert "BuildBackendWarning" not in built.stderr and "Package would be ignored" not in built.stderr
    wheel = next((base / "dist").glob("wamulti-*.whl"))
    run(sys.executable, "-m", "venv", base / "venv", cwd=base)
    run(base / "venv" / "bin" / "pip", "install", "-q", wheel, cwd=base)
    return base


def test_the_wheel_holds_every_migration_and_file_the_server_reads(installed):
    wheel = next((installed / "dist").glob("wamulti-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    in_tree = {str(p.relative_to(ROOT)) for p in (ROOT / "sql").rglob("*.sql")}
    assert in_tree and in_tree <= names
    assert {"clients/bridge.js", "plugins/webui/static/index.html", "plugins/webui/static/app.js"} <= names
    assert not any(name.startswith("tests/") for name in names)


def test_an_installed_wheel_migrates_and_serves_from_an_empty_folder(installed, tmp_path):
    wamulti = installed / "venv" / "bin" / "wamulti"
    site = run(installed / "venv" / "bin" / "python", "-c", "import server, sql; print(server.__file__, sql.__file__)", cwd=tmp_path)
    assert str(ROOT) not in site.stdout and "site-packages" in site.stdout  # the wheel's code, not this tree's
    run(wamulti, "init", cwd=tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text().replace("bcrypt_rounds: 12", "bcrypt_rounds: 4"))
    migrated = run(wamulti, "migrate", cwd=tmp_path)
    applied = re.findall(r"applying migration (\S+)", migrated.stderr)
    assert applied == BUILTIN_MIGRATIONS
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WAMULTI_", "PYTHONPATH"))}
        server = subprocess.Popen([str(wamulti), "serve", "--port", "0"], cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text())
            port = int(found.group(1)) if found else None
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        assert port, log.read_text()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert client.get("/api/health").json() == {"status": "ok"}
            registered = client.post("/api/auth/register", json={"username": "wheely", "password": TEST_PASSWORD})
            assert registered.status_code == 201, registered.text
            assert "wamulti" in client.get("/").text
            assert client.get("/static/webui/app.js").status_code == 200
            assert client.get("/api/docs/swagger-ui-bundle.js").status_code == 200
            assert client.get("/api/openapi.json").json()["info"]["title"] == "wamulti"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert server.returncode == 0, log.read_text()

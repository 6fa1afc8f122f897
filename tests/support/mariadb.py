"""A MariaDB server of the test's own: its own data folder and port, stopped and started at will.

The shared server on 127.0.0.1:3306 serves every other test and is never stopped; fault tests that
take the database away use this one instead::

    async def test_x(own_mariadb):
        url = own_mariadb.url("wamulti")     # the database is created on first use
        own_mariadb.stop()                   # SIGTERM, waits until the process is gone
        own_mariadb.start()                  # same folder, same port, waits until it answers

Every wait is bounded; the server is killed at teardown whatever happened.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pymysql
import pytest

INSTALL_DB = ("mariadb-install-db", "mysql_install_db")
SERVER = ("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")


def _find(names: tuple[str, ...]) -> str:
    for name in names:
        path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if path:
            return path
    pytest.fail(f"none of {', '.join(names)} is installed: install Debian's mariadb-server package")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnMariaDB:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.datadir = base / "data"
        self.socket = base / "mysqld.sock"
        self.pid_file = base / "mysqld.pid"
        self.log = base / "error.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._databases: set[str] = set()

    # -- life cycle -----------------------------------------------------------------------------
    def install(self, timeout: float = 60) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [_find(INSTALL_DB), "--no-defaults", "--user=root", f"--datadir={self.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True, timeout=timeout,
        )
        assert result.returncode == 0, f"mariadb-install-db failed:\n{result.stdout}\n{result.stderr}"

    def start(self, timeout: float = 30) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = subprocess.Popen(
            [_find(SERVER), "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--user=root", f"--pid-file={self.pid_file}",
             f"--log-error={self.log}", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
             "--skip-log-bin", "--max-connections=200"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"mariadbd exited at start (code {self.proc.returncode}):\n{self._log_tail()}")
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"mariadbd did not answer within {timeout}s:\n{self._log_tail()}") from None
                time.sleep(0.1)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a clean shutdown), then wait until the process has exited."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"mariadbd did not stop within {timeout}s:\n{self._log_tail()}") from None

    def freeze(self) -> None:
        """SIGSTOP: the process holds its sockets but answers nothing (a hung or unreachable host)."""
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.send_signal(signal.SIGCONT)
            self.proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- databases --------------------------------------------------------------------------------
    def url(self, database: str = "wamulti") -> str:
        if database not in self._databases:
            conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=3)
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            conn.close()
            self._databases.add(database)
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"


@pytest.fixture
def own_mariadb(tmp_path: Path) -> Iterator[OwnMariaDB]:
    """A running MariaDB of this test's own (see the module docstring)."""
    server = OwnMariaDB(tmp_path / "mariadb")
    server.install()
    try:
        server.start()
        yield server
    finally:
        server.kill()

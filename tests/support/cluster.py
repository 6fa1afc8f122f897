"""Server processes of one cluster (docs/scaling.md), for tests/test_cluster.py.

Each node is ``python -m server.cli --config <its file> serve --port 0`` with a data folder of its
own; its log goes to a file (a pipe nobody reads would fill and stall the server), which also
tells where it listens and is printed when a test fails.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.server import DEFAULT_CONFIG, ROOT, deep_merge

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class Node:
    def __init__(self, node_id: str, base: Path, config: dict[str, Any]) -> None:
        self.id = node_id
        self.dir = base / node_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "config.yaml"
        defaults = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
        merged = deep_merge(defaults, deep_merge(config, {"data_dir": str(self.dir / "data")}))
        self.config_path.write_text(yaml.safe_dump(merged), encoding="utf-8")
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.lives = 0
        self.client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / f"server-{self.lives}.log"

    async def start(self, timeout: float = 60) -> Node:
        self.lives += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
        env.setdefault("PYTHONPATH", str(ROOT))
        self.proc = self._spawn(env)
        deadline = time.monotonic() + timeout
        while True:
            match = LISTENING.search(self.log_path.read_text(encoding="utf-8", errors="replace"))
            if match:
                self.port = int(match.group(1))
                break
            assert self.proc.poll() is None, f"node {self.id} exited:\n{self.tail()}"
            assert time.monotonic() < deadline, f"node {self.id} never listened:\n{self.tail()}"
            await asyncio.sleep(0.1)
        if self.client is not None:
            await self.client.aclose()
        self.client = httpx.AsyncClient(base_url=self.url, timeout=60)
        return self

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen:
        with self.log_path.open("w", encoding="utf-8") as log:
            return subprocess.Popen([sys.executable, "-m", "server.cli", "--config", str(self.config_path), "serve",
                                     "--port", "0"], cwd=self.dir, env=env, stdout=log, stderr=log)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all (its browsers die with it, see clients/procs.py)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self) -> None:
        """SIGTERM: the node drains (see docs/scaling.md); ``terminate`` waits for its exit."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def terminate(self, timeout: float = 60) -> None:
        """SIGTERM, and wait for the process to finish draining."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"node {self.id} did not stop after SIGTERM:\n{self.tail()}"
            await asyncio.sleep(0.1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def close(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 30)
            except TimeoutError:
                self.proc.kill()
                self.proc.wait()
        if self.client is not None:
            await self.client.aclose()
            self.client = None

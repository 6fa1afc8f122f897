"""Operations endpoints the core always serves: liveness and database status."""
from __future__ import annotations

import time

from server import access
from server.db import DatabaseUnavailable
from server.handlers import BaseHandler


class HealthHandler(BaseHandler):
    @access.public
    def get(self) -> None:
        self.write_json({"status": "ok"})


class DbStatusHandler(BaseHandler):
    @access.public
    async def get(self) -> None:
        started = time.perf_counter()
        backend = self.db.backend
        try:
            await self.db.ping()
        except (DatabaseUnavailable, OSError):
            latency = round((time.perf_counter() - started) * 1000, 2)
            self.write_json({"status": "error", "backend": backend, "latencyMs": latency}, status=503)
            return
        latency = round((time.perf_counter() - started) * 1000, 2)
        self.write_json({"status": "ok", "backend": backend, "latencyMs": latency})


default_handlers = [
    (r"/api/health", HealthHandler),
    (r"/api/db-status", DbStatusHandler),
]

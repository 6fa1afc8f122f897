"""Operations endpoints the core always serves: liveness and database status."""
from __future__ import annotations

import time

from marshmallow import Schema, fields, validate

from server import access, openapi
from server.db import DatabaseUnavailable
from server.handlers import BaseHandler


class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))


class DbStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "error"]))
    backend = fields.String(required=True, validate=validate.OneOf(["sqlite", "mysql"]))
    latency_ms = fields.Float(data_key="latencyMs", required=True)


class HealthHandler(BaseHandler):
    @access.public
    @openapi.doc(summary="Liveness", description="Answers as long as the process serves requests.", responses={200: HealthSchema})
    def get(self) -> None:
        self.write_json({"status": "ok"})


class DbStatusHandler(BaseHandler):
    @access.public
    @openapi.doc(
        summary="Database status",
        description="Pings the database and reports the round trip.",
        responses={
            200: DbStatusSchema,
            503: openapi.Response(DbStatusSchema, "The database does not answer (`status: \"error\"`)."),
        },
    )
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

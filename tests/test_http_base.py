"""The error contract, body limits, request ids and CORS, through real HTTP."""
from __future__ import annotations

import logging

import httpx

from server import access, hookimpl
from server.handlers import BaseHandler
from tests.support.server import assert_error, bearer


class Boom(BaseHandler):
    @access.public
    def get(self) -> None:
        raise RuntimeError("secret internals: password=hunter2")


class BoomPlugin:
    @hookimpl
    def register_routes(self, app):
        return [(r"/api/boom", Boom)]


async def test_unknown_path_is_404_in_the_error_shape(server):
    for method in ("GET", "POST", "DELETE"):
        response = await server.client.request(method, "/api/does-not-exist")
        error = assert_error(response, 404, "not_found")
        assert "/api/does-not-exist" in error["message"]


async def test_unsupported_method_is_405_in_the_error_shape(server):
    response = await server.client.delete("/api/health")
    assert_error(response, 405, "method_not_allowed")


async def test_malformed_json_is_400_and_changes_nothing(server):
    token, user = await server.register("ann")
    for body in (b"{not json", b"", b'{"fullName": "x"'):
        response = await server.client.put(
            "/api/user/profile", content=body, headers={**bearer(token), "Content-Type": "application/json"}
        )
        assert_error(response, 400, "bad_request")
    row = await server.app.db.fetch_one("SELECT full_name FROM users WHERE id = ?", (user["id"],))
    assert row["full_name"] == ""


async def test_body_must_be_json_typed_and_an_object(server):
    response = await server.client.post(
        "/api/auth/register", content=b"username=a", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_error(response, 400, "bad_request")
    response = await server.client.post("/api/auth/register", json=["a", "b"])
    assert_error(response, 422, "validation_failed")
    response = await server.client.post("/api/auth/register", content=b"[" * 5000 + b"]" * 5000,
                                        headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert await server.count("users") == 0


async def test_oversized_body_is_413_and_changes_nothing(make_server):
    server = await make_server(server={"max_body_bytes": 2048})
    big = {"username": "bigbody", "password": "x" * 5000}
    response = await server.client.post("/api/auth/register", json=big)
    assert_error(response, 413, "payload_too_large")

    async def chunked():
        yield b'{"username": "bigbody2", "password": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    response = await server.client.post(
        "/api/auth/register", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")
    assert await server.count("users") == 0


async def test_unexpected_exception_is_500_without_internals_and_logged_with_request_id(make_server, caplog):
    server = await make_server(plugins=[BoomPlugin()])
    with caplog.at_level(logging.ERROR, logger="wamulti.http"):
        response = await server.client.get("/api/boom")
    error = assert_error(response, 500, "internal")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    request_id = response.headers["X-Request-Id"]
    assert error["message"]
    logged = [r.getMessage() for r in caplog.records if request_id in r.getMessage()]
    assert logged and "RuntimeError" in logged[0]


async def test_every_response_carries_a_request_id_and_honours_a_sane_incoming_one(server):
    first = await server.client.get("/api/health")
    second = await server.client.get("/api/health")
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    mine = await server.client.get("/api/health", headers={"X-Request-Id": "trace-123"})
    assert mine.headers["X-Request-Id"] == "trace-123"
    evil = await server.client.get("/api/health", headers={"X-Request-Id": "<script>/x y"})
    assert evil.headers["X-Request-Id"] != "<script>/x y"


async def test_cors_allows_only_configured_origins(make_server):
    server = await make_server(server={"cors_origins": ["https://chat.example.com"]})
    allowed = await server.client.get("/api/health", headers={"Origin": "https://chat.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://chat.example.com"
    denied = await server.client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    preflight = await server.client.options(
        "/api/user/profile",
        headers={"Origin": "https://chat.example.com", "Access-Control-Request-Method": "PUT"},
    )
    assert preflight.status_code == 204
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


async def test_health_and_db_status(server):
    assert (await server.client.get("/api/health")).json() == {"status": "ok"}
    status = (await server.client.get("/api/db-status")).json()
    assert status["status"] == "ok"
    assert status["backend"] == server.app.db.backend
    assert status["latencyMs"] >= 0


async def test_db_status_is_503_when_the_database_is_gone(server):
    await server.app.db.close()
    response = await server.client.get("/api/db-status")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    profile = await server.client.get("/api/user/profile", headers=bearer("x.y.z"))
    assert profile.status_code in (401, 503)


async def test_access_log_never_shows_the_query_string(server, caplog):
    with caplog.at_level(logging.INFO, logger="wamulti.access"):
        await server.client.get("/api/health?token=supersecret")
    lines = [r.getMessage() for r in caplog.records if r.name == "wamulti.access"]
    assert any("/api/health" in line for line in lines)
    assert not any("supersecret" in line for line in lines)
    assert isinstance(httpx.URL(server.url), httpx.URL)

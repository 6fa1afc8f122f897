"""logging.format: json writes one JSON object a line, access lines with their fields; text stays as it was."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from server.logs import JsonLines
from tests.support.faults import ServerProcess, write_config
from tests.support.server import TEST_PASSWORD, bearer

ACCESS_FIELDS = {"request_id", "method", "route", "status", "duration_ms", "user_id"}
TEXT_ACCESS = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) +wamulti\.access: "
    r"(\d{3}) ([A-Z]+) (\S+) \d+\.\dms \[([0-9a-f]{32}|[A-Za-z0-9._-]+)\]$"
)


async def serve_a_few_requests(tmp_path: Path, fmt: str) -> tuple[str, dict[str, Any]]:
    """Start a server logging in ``fmt``, make requests, stop it; its log and what was done."""
    config = write_config(tmp_path / "config.yaml", data_dir=str(tmp_path / "data"),
                          auth={"bcrypt_rounds": 4}, logging={"format": fmt, "level": "DEBUG"})
    server = ServerProcess(config, cwd=tmp_path, log=tmp_path / "server.log")
    try:
        await server.start()
        client = server.client
        assert (await client.get("/api/health", headers={"X-Request-Id": "health-check-1"})).status_code == 200
        registered = await client.post("/api/auth/register", json={"username": "logged", "password": TEST_PASSWORD})
        token, user = registered.json()["token"], registered.json()["user"]
        key = (await client.post("/api/keys", headers=bearer(token), json={"name": "logs"})).json()["key"]
        assert (await client.get("/api/user/profile", headers={"X-Api-Key": key})).status_code == 200
        assert (await client.get(f"/api/whatsapp/status/{user['id']}?token={token}", headers=bearer(token))).status_code == 200
        assert (await client.get("/api/products/12345")).status_code == 404
        assert (await client.get("/no/such/page")).status_code == 404
        assert (await client.get("/api/user/profile", headers=bearer("not-a-token"))).status_code == 401
    finally:
        await server.stop()
    return server.log_text(), {"token": token, "key": key, "user": user}


async def test_the_json_format_is_one_object_a_line_with_the_access_fields(tmp_path):
    text, done = await serve_a_few_requests(tmp_path, "json")
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {line!r}") from None
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    assert any(r["logger"] == "wamulti" and r["message"].startswith("listening on") for r in records)

    access = [r for r in records if r["logger"] == "wamulti.access"]
    assert access and all(ACCESS_FIELDS <= set(r) for r in access)
    by_route = {(r["method"], r["route"], r["status"]): r for r in access}
    health = by_route[("GET", "/api/health", 200)]
    assert health["request_id"] == "health-check-1" and health["user_id"] is None and health["level"] == "INFO"
    assert isinstance(health["duration_ms"], (int, float)) and health["duration_ms"] >= 0
    uid = done["user"]["id"]
    assert by_route[("GET", "/api/user/profile", 200)]["user_id"] == uid  # signed in with the API key
    assert by_route[("GET", "/api/whatsapp/status/{user_id}", 200)]["user_id"] == uid
    assert by_route[("GET", "/api/products/{product_id}", 404)]["level"] == "WARNING"
    assert ("GET", "unmatched", 404) in by_route
    assert by_route[("GET", "/api/user/profile", 401)]["user_id"] is None
    for secret in (done["token"], done["key"], TEST_PASSWORD):
        assert secret not in text


async def test_the_text_format_keeps_its_look(tmp_path):
    text, done = await serve_a_few_requests(tmp_path, "text")
    access = [line for line in text.splitlines() if "wamulti.access:" in line]
    assert len(access) >= 8
    for line in access:
        assert TEXT_ACCESS.match(line), line
    assert any(line.endswith("[health-check-1]") and " 200 GET /api/health " in line for line in access)
    assert any(" 200 GET /api/whatsapp/status/" in line for line in access)
    assert not any(line.lstrip().startswith("{") for line in text.splitlines())
    for secret in (done["token"], done["key"], TEST_PASSWORD):
        assert secret not in text


def test_a_json_line_carries_a_records_extra_fields_and_its_traceback():
    record = logging.LogRecord("wamulti.test", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    record.route = "/api/products/{product_id}"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = JsonLines().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert (data["level"], data["logger"], data["message"], data["route"]) == (
        "ERROR", "wamulti.test", "failed here", "/api/products/{product_id}")
    assert "ValueError: boom" in data["exc_info"]

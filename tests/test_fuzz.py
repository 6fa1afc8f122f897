"""Schemathesis against /api/openapi.json with an administrator's token, on SQLite and MariaDB.

Whatever it sends, the server must answer without a 5xx, with a status, a Content-Type,
headers and a body the document declares for that operation; an operation that needs a token
must refuse a request without one, and an undeclared method is a 405. The run is bounded (a fixed
number of examples per operation, deterministic generation) so it fits in CI every time.

WhatsApp sessions get ``/bin/false`` as their browser: a start is accepted and fails at once,
so fuzzing start and restart launches no Chromium. ``/ws`` is left out: it is a websocket, which
Schemathesis does not speak (tests/test_ws.py and tests/test_security_*.py cover it).

The operations that change or delete users run last, each in a run of its own with a fresh
token: demoting or deleting the fuzzing administrator (possible once the fuzzer made another
one) would revoke the token and turn every later request into a 401 that tests nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from tests.support.server import TEST_PASSWORD

EXAMPLES = int(os.environ.get("WAMULTI_FUZZ_EXAMPLES", "25"))  # per operation; raise it locally to dig deeper
CHECKS = ",".join([
    "not_a_server_error",  # no 5xx
    "status_code_conformance",  # ... and nothing outside the document:
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",  # an operation that declares security refuses requests without it
    "unsupported_method",  # an undeclared method is a 405 with Allow
    "allow_header_conformance",
    "missing_required_header",
    "use_after_free",  # what was deleted stays gone
    "ensure_resource_availability",  # what was created can be read
])
# Not checked: positive_data_acceptance and negative_data_rejection, which compare each field's
# validation with its schema (the document describes a URL, an email or a phone number as a
# string, and a price as a string though a number is accepted too).
SESSION = {"chromium": "/bin/false", "max_restarts": 0, "restore_on_boot": False}
USER_CHANGES = ("putUserRole", "deleteUser")  # operationIds of PUT .../role and DELETE /api/admin/users/{id}
RUNS = {
    "every other operation": ["--exclude-path", "/ws", *[arg for op in USER_CHANGES for arg in ("--exclude-operation-id", op)]],
    **{op: ["--include-operation-id", op] for op in USER_CHANGES},
}
TIMEOUT = 600
ADMIN = "fuzz_admin"


def schemathesis_cli() -> str:
    beside = Path(sys.executable).with_name("st")
    found = str(beside) if beside.exists() else shutil.which("st")
    assert found, "the `st` command of schemathesis is missing: pip install -e '.[test]'"
    return found


async def run_schemathesis(server: Any, token: str, args: list[str], cwd: Path) -> tuple[int, str]:
    command = [
        schemathesis_cli(), "run", f"{server.url}/api/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES),
        "--generation-deterministic",
        "--workers", "1",
        "--request-timeout", "30",
        "--continue-on-failure",
        "--no-color",
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMULTI_")}
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except asyncio.TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        raise AssertionError(f"schemathesis ran past {TIMEOUT}s:\n{out.decode(errors='replace')[-5000:]}") from None
    return proc.returncode, out.decode(errors="replace")


async def admin_token(server: Any) -> str:
    """Make (or make again) the fuzzing administrator and mint a token without logging in: the
    fuzzer's own failed logins may have throttled that username."""
    from plugins.auth.commands import create_admin
    from server.users import COLUMNS

    with contextlib.redirect_stdout(io.StringIO()):
        assert await create_admin(server.app, argparse.Namespace(username=ADMIN, password=TEST_PASSWORD)) == 0
    row = await server.app.db.fetch_one(f"SELECT {COLUMNS} FROM users WHERE username = ?", (ADMIN,))
    return server.app.state["auth"].issue_token(row)


def operation_counts(output: str) -> tuple[int, int, int]:
    """(selected, of all the document's operations, tested) from Schemathesis's summary."""
    selected = re.search(r"Selected:\s+(\d+)/(\d+)", output)
    tested = re.search(r"Tested:\s+(\d+)", output)
    if not (selected and tested):
        return 0, 0, 0
    return int(selected.group(1)), int(selected.group(2)), int(tested.group(1))


async def test_schemathesis_finds_no_server_error_and_nothing_outside_the_document(make_server, tmp_path):
    server = await make_server(whatsapp=SESSION)
    problems, counts = [], {}
    for name, args in RUNS.items():
        token = await admin_token(server)  # for each run: (re)made an administrator, a fresh token
        code, output = await run_schemathesis(server, token, args, tmp_path)
        counts[name] = selected, total, tested = operation_counts(output)
        if code != 0 or tested == 0 or tested != selected:
            problems.append(f"--- {name}: exit {code}, {tested} of {selected} operations tested\n{output[-12000:]}")
        if name == "every other operation" and "Authentication failed" in output:
            problems.append(f"--- {name}: the administrator's token stopped working during the run\n{output[-6000:]}")
    assert not problems, "\n".join(problems)
    # Every operation of the document but the websocket was fuzzed, in exactly one run.
    total = counts["every other operation"][1]
    assert sum(tested for _, _, tested in counts.values()) == total - 1, counts

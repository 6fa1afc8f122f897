"""`wamulti create-admin`: the way the first administrator is made."""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from marshmallow import ValidationError

from server.timeutil import now_db

from plugins.auth.schemas import PASSWORD, USERNAME
from plugins.auth.service import AuthService


def add_create_admin(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "create-admin",
        help="create an administrator, or make an existing user one",
        description="Create an administrator account (or promote an existing user). "
        "Prompts for the password when --password is not given.",
    )
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", help="the password (prompted for when omitted)")
    parser.set_defaults(handler=create_admin)


def _ask_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise SystemExit("create-admin: no password given (use --password or type it on standard input)")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat it: "):
        raise SystemExit("create-admin: the two passwords differ")
    return first


async def create_admin(app: Any, args: argparse.Namespace) -> int:
    try:
        USERNAME(args.username)
    except ValidationError as exc:
        print(f"create-admin: --username: {exc.messages[0]}", file=sys.stderr)
        return 2
    password = args.password if args.password is not None else _ask_password()
    try:
        PASSWORD(password)
    except ValidationError as exc:
        print(f"create-admin: password: {exc.messages[0]}", file=sys.stderr)
        return 2
    service = AuthService.from_app(app)
    try:
        password_hash = await service.hash_password(password)
    finally:
        service.close()
    now = now_db()
    existing = await app.db.fetch_one("SELECT id FROM users WHERE username = ?", (args.username,))
    if existing:
        await app.db.execute(
            "UPDATE users SET role = 'admin', password_hash = ?, token_version = token_version + 1,"
            " updated_at = ? WHERE id = ?",
            (password_hash, now, existing["id"]),
        )
        print(f"{args.username} is now an administrator (password reset).")
    else:
        await app.db.execute(
            "INSERT INTO users (username, password_hash, full_name, email, role, points, token_version,"
            " created_at, updated_at) VALUES (?, ?, '', '', 'admin', 0, 0, ?, ?)",
            (args.username, password_hash, now, now),
        )
        print(f"Administrator {args.username} created.")
    return 0

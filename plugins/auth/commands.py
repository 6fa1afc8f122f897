"""`wamulti create-admin`: the way the first administrator is made."""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from marshmallow import ValidationError

from server.errors import ApiError
from server.timeutil import now_db

from plugins.auth import usernames
from plugins.auth.accounts import create_user
from plugins.auth.schemas import PASSWORD
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
    username = usernames.canonical(args.username)
    if not usernames.is_valid(username):
        print(f"create-admin: --username: {usernames.RULE}", file=sys.stderr)
        return 2
    password = args.password if args.password is not None else _ask_password()
    try:
        for check in PASSWORD:
            check(password)
    except ValidationError as exc:
        print(f"create-admin: password: {exc.messages[0]}", file=sys.stderr)
        return 2
    running = app.state.get("auth")  # a server in this process (tests): use its hashing processes
    service = running or AuthService.from_app(app, hash_in_processes=False)
    try:
        password_hash = await service.hash_password(password)
    finally:
        if service is not running:
            service.close()
    existing = await app.db.fetch_one("SELECT id FROM users WHERE username = ?", (username,))
    if existing:
        await app.db.execute(
            "UPDATE users SET role = 'admin', password_hash = ?, token_version = token_version + 1,"
            " updated_at = ? WHERE id = ?",
            (password_hash, now_db(), existing["id"]),
        )
        print(f"{username} is now an administrator (password reset).")
        return 0
    try:
        await create_user(app.db, username, password_hash, role="admin")
    except ApiError as exc:
        print(f"create-admin: --username: {exc.message}", file=sys.stderr)
        return 2
    print(f"Administrator {username} created.")
    return 0

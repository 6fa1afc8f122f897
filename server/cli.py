"""The `wamulti` command: serve, migrate, and the commands plugins add."""
from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

import pluggy

from server import __version__
from server.app import WamultiApp, build_app, default_config_text
from server.config import DEFAULT_CONFIG_FILE, ConfigError
from server.db import DatabaseUnavailable
from server.logs import setup_logging

log = logging.getLogger("wamulti")


def _base_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wamulti", description="Multi-user WhatsApp Web server.")
    parser.add_argument("--config", metavar="PATH", help="configuration file (default: ./config.yaml)")
    parser.add_argument("--version", action="version", version=f"wamulti {__version__}")
    return parser


def _full_parser(app: WamultiApp) -> argparse.ArgumentParser:
    parser = _base_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (overrides server.host)")
    serve.add_argument("--port", type=int, help="port to listen on (overrides server.port)")
    serve.set_defaults(handler=_serve)
    migrate = sub.add_parser("migrate", help="apply pending database migrations and exit")
    migrate.set_defaults(handler=_migrate)
    sub.add_parser("init", help=f"write a {DEFAULT_CONFIG_FILE} with every default here, and exit")
    app.plugins.hook.register_commands(subparsers=sub)
    for command in sub.choices.values():  # `wamulti serve --config FILE` works as well
        if not any("--config" in action.option_strings for action in command._actions):
            command.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


async def _serve(app: WamultiApp, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start(host=args.host, port=args.port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        host = args.host or app.config.server.host
        port = args.port if args.port is not None else app.config.server.port
        print(f"wamulti: {host}:{port} is in use by another program: stop it, or choose another port "
              "with --port or server.port", file=sys.stderr)
        return 1
    await stop.wait()
    log.info("shutting down")
    return 0


async def _migrate(app: WamultiApp, args: argparse.Namespace) -> int:
    print("migrations up to date")
    return 0


async def _run(app: WamultiApp, args: argparse.Namespace) -> int:
    try:
        await app.open()
        return await args.handler(app, args)
    finally:
        await app.stop()


def _command(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (the first word that is not an option or its value)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _init(path: Path, force: bool = False) -> int:
    if path.exists() and not force:
        print(f"wamulti: {path} exists already; nothing written", file=sys.stderr)
        return 1
    path.write_text(default_config_text(), encoding="utf-8")
    print(f"wrote {path}: every setting at its default; edit it, then run `wamulti serve`")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known, _ = _base_parser().parse_known_args([a for a in argv if a not in ("-h", "--help")])
    command = _command(argv)
    if command == "init":
        return _init(Path(known.config or DEFAULT_CONFIG_FILE))
    if known.config is None and not Path(DEFAULT_CONFIG_FILE).exists() and command and "-h" not in argv and "--help" not in argv:
        print(f"wamulti: no {DEFAULT_CONFIG_FILE} in {Path.cwd()}: run wamulti in the folder that holds it, give "
              f"--config PATH, or write one with every default here with `wamulti init`", file=sys.stderr)
        return 2
    try:
        app = build_app(known.config)
    except ConfigError as exc:
        print(f"wamulti: {exc}", file=sys.stderr)
        return 2
    except pluggy.PluginValidationError as exc:
        print(f"wamulti: plugin error: {exc}", file=sys.stderr)
        return 2
    args = _full_parser(app).parse_args(argv)
    setup_logging(app.config.logging.level, app.config.logging.format)
    try:
        return asyncio.run(_run(app, args))
    except DatabaseUnavailable as exc:
        print(f"wamulti: database unavailable: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run() -> Any:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

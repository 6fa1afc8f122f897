"""The `wamulti` command: serve, migrate, and the commands plugins add."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any, Sequence

import pluggy

from server import __version__
from server.app import WamultiApp, build_app
from server.config import ConfigError
from server.db import DatabaseUnavailable

log = logging.getLogger("wamulti")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Tornado's own access log would print full URIs (tokens in query strings); ours is used instead.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)


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
    app.plugins.hook.register_commands(subparsers=sub)
    return parser


async def _serve(app: WamultiApp, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start(host=args.host, port=args.port)
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known, _ = _base_parser().parse_known_args([a for a in argv if a not in ("-h", "--help")])
    try:
        app = build_app(known.config)
    except ConfigError as exc:
        print(f"wamulti: {exc}", file=sys.stderr)
        return 2
    except pluggy.PluginValidationError as exc:
        print(f"wamulti: plugin error: {exc}", file=sys.stderr)
        return 2
    args = _full_parser(app).parse_args(argv)
    setup_logging(app.config.logging.level)
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

"""``python -m tests.fakewa [--host 127.0.0.1] [--port 9311] [--fast] [--generation 2026-08] [--qr-interval 20] ...``"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from .app import FakeWhatsApp
from .settings import SimSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fakewa", description="Run the WhatsApp Web simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9311, help="fixed, so that a reopened profile finds its login")
    parser.add_argument("--fast", action="store_true", help="start from the test timings instead of realistic ones")
    for field in SimSettings.fields():
        choices = field.metadata.get("choices")
        kind = str if choices else int if field.type in (int, "int") else float
        parser.add_argument("--" + field.name.replace("_", "-"), type=kind, default=None, choices=choices,
                            help=f"{field.metadata['help']} (default {field.default})")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> SimSettings:
    base = SimSettings.fast() if args.fast else SimSettings()
    changes: dict[str, Any] = {
        f.name: getattr(args, f.name) for f in SimSettings.fields() if getattr(args, f.name) is not None
    }
    return base.replace(**changes)


async def serve(args: argparse.Namespace) -> None:
    sim = FakeWhatsApp(settings_from(args))
    url = await sim.start(args.host, args.port)
    print(f"fakewa: {url} (control API under {url}__sim/)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()

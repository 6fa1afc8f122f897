"""``python -m tests.fakewa.demo [--port 8080] [--sim-port 9311] [--data-dir data/demo]``

Try the whole product without a phone (``make demo``): wamulti and the WhatsApp simulator in one
process. The simulator plays WhatsApp with realistic but quick delays and serves the phone page,
``/__sim/phone``, where a visitor scans a session's QR code and chats as the phone's contacts.
The server is ``wamulti serve`` with the repository's config.yaml (and ``WAMULTI_*`` variables)
and three overrides: its data in ``--data-dir``, ``whatsapp.url`` at the simulator, and a relaxed
send rate. Port 0 picks a free port; the URLs are printed on stdout, the logs go to stderr.

SIGINT (Ctrl-C) or SIGTERM stops both: the server first, so its browsers close while the
simulator still answers, then the simulator. The simulator keeps its phones in memory only: after
a restart a session that was linked shows a QR code again, as if the phone had unlinked it;
accounts and stored chats stay in the data folder.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from clients import BrowserNotFound, find_chromium
from server.app import WamultiApp, build_app
from server.cli import setup_logging
from server.config import ConfigError
from server.db import DatabaseUnavailable

from .app import FakeWhatsApp
from .settings import SimSettings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.yaml"
HOST = "127.0.0.1"

# The real site's rhythm, a little quicker: QR codes last long enough to switch windows and
# scan, and acks rise slowly enough to watch the ticks change.
DEMO_TIMINGS = SimSettings(
    qr_interval=30.0,
    boot_delay=0.3,
    connect_delay=0.3,
    pair_delay=0.8,
    sync_delay=0.8,
    ack_delay=0.6,
)
# A person typing cannot reach it; the default (20/min with a pause before each send) protects
# real numbers from bans, which the simulator does not hand out.
DEMO_SEND_RATE = {"per_minute": 600, "burst": 50, "jitter_seconds": 0}

log = logging.getLogger("wamulti.demo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakewa.demo",
        description="Run wamulti against the WhatsApp simulator, with a phone page to play the phone.",
    )
    parser.add_argument("--port", type=int, default=8080, help="wamulti's port (0: any free port; default 8080)")
    parser.add_argument("--sim-port", type=int, default=9311, help="the simulator's port (0: any free port; default 9311)")
    parser.add_argument("--data-dir", default="data/demo", help="wamulti's data folder (default data/demo)")
    return parser.parse_args(argv)


def demo_overrides(data_dir: str, sim_url: str) -> dict[str, Any]:
    """What the demo changes in config.yaml."""
    return {"data_dir": data_dir, "whatsapp": {"url": sim_url, "send_rate": dict(DEMO_SEND_RATE)}}


def instructions(server_url: str, sim_url: str, data_dir: str) -> str:
    phone_url = f"{sim_url}__sim/phone"
    return f"""
wamulti demo: WhatsApp is played by the simulator, no phone needed.

  wamulti     {server_url}
  phone       {phone_url}
  simulator   {sim_url}
  data        {Path(data_dir).resolve()}

1. Open {server_url} and create an account.
2. In the WhatsApp panel press Start: a QR code appears after a few seconds.
3. Open {phone_url} in another window, choose a number and a display name,
   and press "Scan with this phone" next to the QR code: the session becomes CONNECTED.
4. Chat: write to any number from wamulti; on the phone page send messages as a contact,
   reply as the phone, and let the contact read the chat (blue ticks).

Press Ctrl-C to stop.
"""


def warn_without_chromium(configured: str | None) -> None:
    """Say at once what Start would answer (503) on a machine without Chromium."""
    try:
        find_chromium(configured)
    except BrowserNotFound as exc:
        log.warning("%s; `make demo` installs it. Until then Start answers 503.", exc)


async def serve(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    sim = FakeWhatsApp(DEMO_TIMINGS)
    app: WamultiApp | None = None
    try:
        try:
            sim_url = await sim.start(HOST, args.sim_port)
        except OSError as exc:
            print(f"demo: the simulator cannot listen on port {args.sim_port}: {exc.strerror}; pass --sim-port", file=sys.stderr)
            return 1
        try:
            app = build_app(CONFIG, overrides=demo_overrides(args.data_dir, sim_url), environ=os.environ)
        except ConfigError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 2
        logging.getLogger().setLevel(app.config.logging.level)
        warn_without_chromium(app.config["whatsapp"]["chromium"])
        try:
            await app.start(host=HOST, port=args.port)
        except OSError as exc:
            print(f"demo: wamulti cannot listen on port {args.port}: {exc.strerror}; "
                  "stop the other server or pass --port", file=sys.stderr)
            return 1
        except DatabaseUnavailable as exc:
            print(f"demo: database unavailable: {exc}", file=sys.stderr)
            return 1
        print(instructions(f"http://{HOST}:{app.port}/", sim_url, args.data_dir), flush=True)
        await stop.wait()
        log.info("stopping the demo")
        return 0
    finally:
        if app is not None:
            await app.stop()
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("INFO")  # the configured level applies once config.yaml is read
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:  # before the signal handlers were in place
        return 130


if __name__ == "__main__":
    sys.exit(main())

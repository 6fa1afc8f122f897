"""The reference of figure 1: a bare Tornado handler answering fixed bytes.

Same process model as ``wamulti serve``: one process, one ``tornado.httpserver.HTTPServer`` on
the same Tornado, the same idle-connection timeout. Each ``--route PATH=FILE`` answers GET PATH
(query string ignored) with FILE's bytes as ``application/json``; nothing is read, checked or
logged, which is the point.

    python -m bench.serve_bare --port 0 --route /api/products=products.json
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys

import tornado.httpserver
import tornado.netutil
import tornado.web


class FixedBytesHandler(tornado.web.RequestHandler):
    def initialize(self, body: bytes) -> None:
        self.body = body

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(self.body)


async def serve(host: str, port: int, routes: list[tuple[str, bytes]]) -> None:
    app = tornado.web.Application([(re.escape(path), FixedBytesHandler, {"body": body}) for path, body in routes])
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(app, idle_connection_timeout=75)
    server.add_sockets(sockets)
    print(f"listening on http://{host}:{sockets[0].getsockname()[1]}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    await server.close_all_connections()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_bare")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--route", action="append", default=[], metavar="PATH=FILE")
    args = parser.parse_args(argv)
    routes = []
    for spec in args.route:
        path, _, file = spec.partition("=")
        with open(file, "rb") as handle:
            routes.append((path, handle.read()))
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    asyncio.run(serve(args.host, args.port, routes))


if __name__ == "__main__":
    main()
